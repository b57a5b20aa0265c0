# System-wide Jupyter configuration of the nslab image (/etc/jupyter).
# nslab is the default kernel: a new notebook or console starts in the namespace lab.
c.MultiKernelManager.default_kernel_name = "nslab"
