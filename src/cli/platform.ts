/**
 * Which platforms the package runs on. The kernel makes its lab with Linux namespaces
 * (util-linux's unshare, nsenter, setpriv, and tini), so it runs on Linux only; it is built
 * and tested on x64 and arm64, the architectures for which zeromq ships prebuilt binaries
 * (node-pty compiles from source on Linux). macOS and Windows users run the Docker image,
 * whose Linux VM has the namespaces (README "In Docker").
 */

/** Overrides process.platform and process.arch ("darwin", "linux/riscv64"): for trying the messages. */
export const PLATFORM_ENV = 'NSLAB_PLATFORM';

export interface PlatformSupport {
  /** `supported`: tested here; `untested`: Linux on another CPU (may work); `unsupported`: no lab possible. */
  level: 'supported' | 'untested' | 'unsupported';
  /** One line for `nslab doctor`. */
  summary: string;
  /** What to do instead (empty when supported). */
  advice: string;
}

const NAMES: Record<string, string> = { darwin: 'macOS', win32: 'Windows', linux: 'Linux', freebsd: 'FreeBSD', openbsd: 'OpenBSD', aix: 'AIX', sunos: 'SunOS' };
export const SUPPORTED_ARCHES = ['x64', 'arm64'];

export const DOCKER_ADVICE =
  'Run nslab in its Docker image instead (on macOS and Windows, Docker Desktop\'s Linux VM has the namespaces): ' +
  'in a copy of the nslab repository, `docker build -t nslab .` then ' +
  '`docker run --rm -it --init --privileged -p 127.0.0.1:8888:8888 nslab` (README "In Docker").';

/** Pure: what the package can do on `platform`/`arch` (values of process.platform / process.arch). */
export function platformSupport(platform: string, arch: string): PlatformSupport {
  const name = NAMES[platform] ?? platform;
  if (platform !== 'linux') {
    return {
      level: 'unsupported',
      summary: `${name} (${platform} ${arch}) is not supported: the nslab kernel makes its lab with Linux namespaces (unshare, nsenter), which ${name} does not have`,
      advice: DOCKER_ADVICE,
    };
  }
  if (!SUPPORTED_ARCHES.includes(arch)) {
    return {
      level: 'untested',
      summary: `Linux on ${arch} is untested (nslab is tested on x64 and arm64); it works where node-pty and zeromq build for it`,
      advice: 'If the kernel does not start, run `nslab doctor` and see whether node-pty and zeromq load.',
    };
  }
  return { level: 'supported', summary: `Linux ${arch}: supported`, advice: '' };
}

/** The platform nslab runs on: process.platform/arch, or $NSLAB_PLATFORM ("darwin" or "linux/riscv64"). */
export function currentPlatform(env: NodeJS.ProcessEnv = process.env): { platform: string; arch: string } {
  const fake = env[PLATFORM_ENV];
  if (!fake) return { platform: process.platform, arch: process.arch };
  const [platform, arch] = fake.split('/');
  return { platform, arch: arch || process.arch };
}
