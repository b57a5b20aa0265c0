/**
 * Kernel subshells (JEP 91, protocol 5.5) end to end through jupyter_client 8.10 (the project
 * .venv), never through nslab's own protocol code: test/e2e/py/subshell_driver.py makes the
 * control requests and the `subshell_id` header with the client's Session, as JupyterLab does,
 * and reports what it saw; the assertions are here. Each scenario has a kernel of its own.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { installKernelspec, leftoverMessage, REPO, type InstalledKernelspec } from '../helpers/kernelspec.js';
import { PythonDriver } from '../helpers/python-driver.js';
import type { Proc } from '../helpers/processes.js';

const DRIVER = join(REPO, 'test', 'e2e', 'py', 'subshell_driver.py');

type Content = Record<string, any>;
interface Rec {
  channel: 'shell' | 'control' | 'stdin' | 'iopub';
  msg_type: string;
  parent: { msg_id?: string; msg_type?: string; subshell_id?: string | null };
  content: Content;
  ms: number;
}

const of = (records: Rec[], id: string) => records.filter((r) => r.parent.msg_id === id);
const replyOf = (records: Rec[], id: string) => {
  const r = records.find((m) => m.parent.msg_id === id && m.channel === 'shell');
  assert.ok(r, `no reply to ${id}`);
  return r.content;
};
const streamOf = (records: Rec[], id: string, name = 'stdout') =>
  of(records, id).filter((r) => r.msg_type === 'stream' && r.content.name === name).map((r) => r.content.text).join('');
const statesOf = (records: Rec[], id: string) => of(records, id).filter((r) => r.msg_type === 'status').map((r) => r.content.execution_state);

describe('e2e: kernel subshells through jupyter_client (8.10, the project .venv)', function () {
  this.timeout(120_000);
  let spec: InstalledKernelspec;
  let driver: PythonDriver;
  const leftovers: Proc[] = [];

  before(async function () {
    spec = installKernelspec();
    driver = await PythonDriver.start(DRIVER, { ...spec.env, NSLAB_LOG: 'warn' });
  });

  after(async function () {
    if (driver) leftovers.push(...(await driver.close()));
    spec?.cleanup();
    assert.deepEqual(leftovers, [], leftoverMessage(leftovers));
  });

  it('creates two subshells, runs them at once beside the main shell, lists and deletes them; a deleted one answers with an error', async function () {
    const r = await driver.call<Content>('create_use_list_delete');
    const [a, b] = r.created as Content[];
    assert.deepEqual([a.status, b.status], ['ok', 'ok']);
    // No terminal until a subshell runs its first cell.
    assert.deepEqual(r.listed, { status: 'ok', subshell_id: [a.subshell_id, b.subshell_id], terminals: {} });

    const records = r.records as Rec[];
    const ids = r.ids as Record<'a' | 'b' | 'main', string>;
    assert.equal(streamOf(records, ids.a), 'A in terminal 2\nA done\n');
    assert.equal(streamOf(records, ids.b), 'B in terminal 3\nB done\n');
    assert.equal(streamOf(records, ids.main), 'main in terminal 1\nmain done\n');
    assert.match(streamOf(records, ids.a, 'stderr'), /this subshell is terminal 2 of the lab/);
    assert.equal(streamOf(records, ids.main, 'stderr'), '');
    for (const [name, id] of Object.entries(ids)) {
      assert.deepEqual(statesOf(records, id), ['busy', 'idle'], `${name}: its own busy and idle`);
      assert.equal(replyOf(records, id).status, 'ok');
      assert.equal(replyOf(records, id).execution_count, 1, `${name} counts on its own`);
      const sub = name === 'main' ? null : name === 'a' ? a.subshell_id : b.subshell_id;
      for (const m of of(records, id)) assert.equal(m.parent.subshell_id, sub, `${name}: ${m.msg_type} parented to the request, subshell_id kept`);
    }
    // Three cells of 1 s each: at once they take about 1 s, one after another 3 s.
    assert.ok(r.concurrent_ms < 2500, `three 1 s cells took ${r.concurrent_ms} ms`);
    assert.equal(replyOf(r.second.records, r.second.msg_id).execution_count, 2);

    assert.match(r.nstree, /ターミナル 2 \(コンソール\)/);
    assert.match(r.nstree, /ターミナル 3 \(コンソール\)/);
    assert.match(r.nstree, /ターミナル 1(?! \()/);

    assert.deepEqual(r.deleted, { status: 'ok' });
    assert.deepEqual(r.listed_after, { status: 'ok', subshell_id: [b.subshell_id], terminals: { [b.subshell_id]: 3 } });
    const late = replyOf(r.late.records, r.late.msg_id);
    assert.equal(late.status, 'error');
    assert.equal(late.ename, 'UnknownSubshell');
    assert.deepEqual(statesOf(r.late.records, r.late.msg_id), ['busy', 'idle']);
    assert.ok(of(r.late.records, r.late.msg_id).some((m) => m.msg_type === 'error'), 'the learner sees why');
    assert.deepEqual(r.deleted_b, { status: 'ok' });
    assert.equal(r.delete_main.status, 'error');
    assert.equal(r.delete_main.ename, 'MainShell');
    assert.deepEqual(r.listed_end, { status: 'ok', subshell_id: [], terminals: {} });
  });

  it("the seed's step with two shells: sleep 1000 in one, found and killed from the other, both ways", async function () {
    const r = await driver.call<Record<string, { sleeping: string; kill: string; records: Rec[]; ms: number }>>('kill_across');
    for (const [name, s] of Object.entries(r)) {
      const sleeperTerminal = name.startsWith('main') ? 2 : 1;
      // bash reports the job it was running ended by SIGTERM ("Terminated").
      assert.match(streamOf(s.records, s.sleeping), new RegExp(`^sleeping in ${sleeperTerminal}\n(Terminated\n)?$`), name);
      assert.match(streamOf(s.records, s.kill), /^\d+\nkilled\n$/, `${name}: one sleep found and killed`);
      assert.equal(replyOf(s.records, s.kill).status, 'ok', name);
      const slept = replyOf(s.records, s.sleeping);
      assert.equal(slept.status, 'error', name);
      assert.equal(slept.evalue, 'exit status 143', `${name}: the sleep ended by SIGTERM`);
      assert.ok(s.ms < 20_000, `${name}: took ${s.ms} ms`);
    }
  });

  it('deleting a subshell ends its terminal and every process started there (background, setsid, nohup)', async function () {
    const r = await driver.call<Content>('delete_ends_processes');
    assert.deepEqual([...r.before].sort(), ['sleep 1001', 'sleep 1002', 'sleep 1003', 'sleep 1004']);
    assert.deepEqual(r.deleted, { status: 'ok' });
    assert.deepEqual(r.after_reply, [], 'gone when the reply comes');
    assert.equal(r.ps_in_lab.trim(), '0', 'the lab shows none of them');
    const fg = replyOf(r.records, r.fg);
    assert.equal(fg.ename, 'SubshellDeleted');
  });

  it('hundreds of create requests: the free terminals, then a clear error each; the kernel keeps working and ends them all', async function () {
    const r = await driver.call<Content>('many_creates', { count: 300 });
    const replies = r.replies as Content[];
    const ok = replies.filter((x) => x.status === 'ok');
    assert.equal(ok.length, 8);
    const refused = replies.filter((x) => x.status === 'error');
    assert.equal(refused.length, 292);
    assert.ok(refused.every((x) => x.ename === 'TerminalLimit' && /there are 8 subshells already, one for each of the lab's terminals 2–9/.test(x.evalue)), JSON.stringify(refused[0]));
    assert.deepEqual(r.terminals, ['2', '3', '4', '5', '6', '7', '8', '9']);
    assert.equal(r.alive, 'alive\n');
    assert.ok(r.deleted.every((x: Content) => x.status === 'ok'));
    assert.deepEqual(r.listed.subshell_id, []);
    assert.ok(r.processes_with_subshells > r.processes_before, 'subshells had shells of their own');
    assert.equal(r.processes_after, r.processes_before, 'deleting them left none of their processes');
  });

  it('a restart ends every subshell with the lab: its running and queued cells are answered, its id is unknown afterwards', async function () {
    const r = await driver.call<Content>('restart_with_subshells');
    const records = r.records as Rec[];
    // jupyter_client interrupts the kernel before it asks it to shut down: the running cell ends
    // as interrupted or by the shutdown, the queued one runs or meets the shutdown; each is answered.
    const running = replyOf(records, r.running);
    assert.equal(running.status, 'error');
    assert.match(running.ename, /^(Interrupted|KernelShuttingDown)$/);
    const queued = replyOf(records, r.queued);
    assert.ok(queued.status === 'ok' || queued.ename === 'KernelShuttingDown', JSON.stringify(queued));
    const after = replyOf(records, r.after);
    assert.equal(after.ename, 'UnknownSubshell');
    assert.deepEqual(r.old_left, []);
    assert.deepEqual(r.listed.subshell_id, []);
    assert.equal(r.created.status, 'ok', 'the new kernel makes subshells again');
  });
});
