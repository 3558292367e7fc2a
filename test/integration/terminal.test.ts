// Terminals (issue 3, item 4), for real: a foreground `run` with
// process.terminal in the user's own terminal (a pty that test/helpers/pty-run.c
// types into), and `create --console-socket` + `start` with an engine-like
// receiver of the pty master (test/helpers/console-receiver.c).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Harness, TSRUN, leftovers, rootAvailable } from '../helpers/harness';
import { nativeHelper } from '../helpers/native-helpers';

const enabled = rootAvailable();

interface Done {
  code: number | null;
  out: string;
}

function collect(cmd: string, args: string[], onStdout?: (text: string) => void): { proc: ReturnType<typeof spawn>; done: Promise<Done> } {
  const proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => {
    out += d.toString('utf8');
    onStdout?.(out);
  });
  const done = new Promise<Done>((resolve) => proc.on('close', (code) => resolve({ code, out: out.replace(/\r/g, '') })));
  return { proc, done };
}

describe.skipIf(!enabled)('terminals', () => {
  let h: Harness;
  let ptyRun: string;
  let receiver: string;
  beforeAll(() => {
    h = new Harness('terminal');
    ptyRun = nativeHelper('pty-run', h.dir);
    receiver = nativeHelper('console-receiver', h.dir);
  });
  afterAll(() => h?.cleanup());

  const tsrunCmd = (args: string[]) => [TSRUN, '--root', h.root, ...args].map((a) => `'${a}'`).join(' ');
  /** Runs `sh -c script` in a pty of rows x cols, typing the steps (see pty-run.c). */
  const inPty = (rows: number, cols: number, steps: string[], script: string) =>
    collect(ptyRun, [String(rows), String(cols), ...steps, '--', 'sh', '-c', script]);
  // after tsrun: its exit status, and the terminal's mode, which must be cooked again
  const after = '; echo "EXIT=$?"; stty -a';
  const expectSaneTerminal = (out: string) => {
    const modes = out.slice(out.lastIndexOf('EXIT='));
    expect(modes).toMatch(/(^|\s)icanon(\s|$)/m);
    expect(modes).toMatch(/(^|\s)echo(\s|$)/m);
  };

  it('run in the foreground uses the caller\'s terminal: tty, input, size, resize, exit status', async () => {
    const id = h.id('fg');
    const b = h.bundle((c) => {
      c.process.terminal = true;
      c.process.args = ['sh'];
    });
    const { done } = inPty(
      30,
      100,
      ['expect:# ', 'send:tty; echo $((6*7)); stty size\\n', 'expect:30 100', 'resize:40x120', 'send:stty size; exit 3\\n'],
      tsrunCmd(['run', '--bundle', b, id]) + after,
    );
    const { code, out } = await done;
    expect(code, out).toBe(0);
    expect(out).toMatch(/^\/dev\/pts\/0$/m);
    expect(out).toMatch(/^42$/m);
    expect(out).toMatch(/^30 100$/m); // the caller's size at start
    expect(out).toMatch(/^40 120$/m); // and after SIGWINCH
    expect(out).toContain('EXIT=3\n');
    expectSaneTerminal(out);
    expect(leftovers(h.root, id)).toEqual([]);
  });

  it('takes process.consoleSize over the caller\'s size at start', async () => {
    const id = h.id('size');
    const b = h.bundle((c) => {
      c.process.terminal = true;
      c.process.consoleSize = { height: 11, width: 22 };
      c.process.args = ['sh', '-c', 'stty size; tty'];
    });
    const { done } = inPty(30, 100, [], tsrunCmd(['run', '--bundle', b, id]) + after);
    const { out } = await done;
    expect(out).toMatch(/^11 22\n\/dev\/pts\/0\nEXIT=0$/m);
    expectSaneTerminal(out);
  });

  it('restores the terminal when create fails after the pty is set up', async () => {
    const id = h.id('fail');
    const b = h.bundle((c) => {
      c.process.terminal = true;
      c.process.args = ['no-such-program'];
    });
    const { done } = inPty(24, 80, [], tsrunCmd(['run', '--bundle', b, id]) + after);
    const { out } = await done;
    expect(out).toContain('executable file not found in $PATH');
    expect(out).toContain('EXIT=1\n');
    expectSaneTerminal(out);
    expect(leftovers(h.root, id)).toEqual([]);
  });

  // Node resets its stdio's termios when it exits; to see stage 0's own restore the runtime is SIGKILLed first,
  // and the script looks at the terminal only once stage 0 is gone too.
  for (const how of ['the container process exits', 'stage 0 gets SIGTERM']) {
    it(`stage 0 restores the terminal when ${how}, even with the runtime gone`, async () => {
      const id = h.id('restore');
      const b = h.bundle((c) => {
        c.process.terminal = true;
        c.process.args = ['sh', '-c', 'echo started; sleep 60'];
      });
      const pidFile = path.join(h.dir, `${id}.stage0`);
      const waitStage0 = `while [ ! -s ${pidFile} ]; do sleep 0.05; done; while [ -e /proc/$(cat ${pidFile}) ]; do sleep 0.05; done; stty -a`;
      const { done } = inPty(24, 80, ['expect:started'], tsrunCmd(['run', '--bundle', b, id]) + '; echo "EXIT=$?"; ' + waitStage0);
      // stage 0: the tsrun-init whose parent, the runtime, runs with our container id
      let stage0: number | undefined;
      let runtime: number | undefined;
      for (let i = 0; i < 200 && !stage0; i++) {
        await new Promise((r) => setTimeout(r, 50));
        for (const d of fs.readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
          try {
            if (!fs.readFileSync(`/proc/${d}/cmdline`, 'utf8').startsWith('tsrun-init\0')) continue;
            const ppid = Number(fs.readFileSync(`/proc/${d}/stat`, 'utf8').split(') ')[1].split(' ')[1]);
            if (fs.readFileSync(`/proc/${ppid}/cmdline`, 'utf8').includes(id)) [stage0, runtime] = [Number(d), ppid];
          } catch {
            // gone meanwhile
          }
        }
      }
      expect(stage0).toBeDefined();
      // the container process, once it runs the configured program (never 0: that would signal our own group)
      let container = 0;
      for (let i = 0; i < 200 && !container; i++) {
        try {
          // stage 0 is spawned before create writes the state: it may not be there yet
          const pid = JSON.parse(fs.readFileSync(path.join(h.root, id, 'state.json'), 'utf8')).pid as number;
          const cmd = pid > 1 ? fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8') : '';
          if (cmd && !cmd.startsWith('tsrun-init')) container = pid;
        } catch {
          // not yet
        }
        if (!container) await new Promise((r) => setTimeout(r, 50));
      }
      expect(container).toBeGreaterThan(1);
      process.kill(runtime!, 'SIGKILL');
      while (fs.existsSync(`/proc/${runtime}/stat`) && !/\) Z /.test(fs.readFileSync(`/proc/${runtime}/stat`, 'utf8'))) {
        await new Promise((r) => setTimeout(r, 20));
      }
      fs.writeFileSync(pidFile, String(stage0));
      process.kill(how.startsWith('stage 0') ? stage0! : container, how.startsWith('stage 0') ? 'SIGTERM' : 'SIGKILL');
      const { out } = await done;
      expect(out).toContain('started');
      expect(out).toContain('EXIT=137\n');
      expectSaneTerminal(out);
      expect(h.tsrun(['delete', '--force', id]).code).toBe(0);
      expect(leftovers(h.root, id)).toEqual([]);
    });
  }

  it('works with stdin and stdout that are not terminals', () => {
    const b = h.bundle((c) => {
      c.process.terminal = true;
      c.process.args = ['sh', '-c', 'tty; echo out; echo err >&2; exit 4'];
    });
    const id = h.id('notty');
    const r = h.tsrun(['run', '--bundle', b, id]);
    expect(r.stderr).toBe('');
    // one pty for all three: stderr comes through stdout, with the pty's \r\n
    expect(r.stdout).toBe('/dev/pts/0\r\nout\r\nerr\r\n');
    expect(r.code).toBe(4);
    expect(leftovers(h.root, id)).toEqual([]);
  });

  it('exec -t in the foreground gets a terminal the same way', async () => {
    const id = h.id('exec');
    const b = h.bundle((c) => (c.process.args = ['sleep', '1000']));
    expect(h.tsrun(['run', '-d', '--bundle', b, id]).code).toBe(0);
    const { done } = inPty(27, 91, [], tsrunCmd(['exec', '-t', id, 'sh', '-c', 'tty; stty size; exit 7']) + after);
    const { out } = await done;
    expect(out).toMatch(/^\/dev\/pts\/\d+\n27 91\nEXIT=7$/m);
    expectSaneTerminal(out);
    expect(h.tsrun(['delete', '--force', id]).code).toBe(0);
  });

  it('refuses run --detach with a terminal and no console socket, as runc', () => {
    const id = h.id('detach');
    const b = h.bundle((c) => (c.process.terminal = true));
    const r = h.tsrun(['run', '-d', '--bundle', b, id]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('process.terminal: a terminal needs a console socket');
    expect(leftovers(h.root, id)).toEqual([]);
  });

  it('create --console-socket + start: the engine gets the master, tty is a terminal, consoleSize applies', async () => {
    const sock = path.join(h.dir, 'console.sock');
    let ready: () => void = () => undefined;
    const isReady = new Promise<void>((r) => (ready = r));
    const { done } = collect(receiver, [sock, 'hello\n'], (text) => {
      if (text.startsWith('ready\n')) ready();
    });
    await isReady;
    const id = h.id('sock');
    const b = h.bundle((c) => {
      c.process.terminal = true;
      c.process.consoleSize = { height: 33, width: 99 };
      c.process.args = ['sh', '-c', 'tty; stty size; [ "$(stat -c %t:%T /dev/console)" = "$(stat -c %t:%T "$(tty)")" ] && echo "console is the pty"; read x; echo "got $x"; ls /proc/self/fd | sort -n | tr "\\n" " "'];
    });
    const created = h.tsrun(['create', '--console-socket', sock, '--bundle', b, id]);
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    expect(h.tsrun(['start', id]).code).toBe(0);
    const { code, out } = await done;
    expect(code).toBe(0);
    // the typed line is echoed by the pty before the shell reads it
    expect(out).toBe('ready\nname=/dev/ptmx\nhello\n/dev/pts/0\n33 99\nconsole is the pty\ngot hello\n0 1 2 3 ');
    expect(h.tsrun(['delete', '--force', id]).code).toBe(0);
    expect(leftovers(h.root, id)).toEqual([]);
  });
});
