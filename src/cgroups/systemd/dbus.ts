// A D-Bus connection for the systemd driver: the socket, the EXTERNAL handshake, method calls matched to their
// replies and signals handed to a listener. Messages are encoded and decoded by dbus-native's codec
// (dbus-native/lib/message: the wire format, maintained upstream); only that module is loaded, not the
// library's client, which pulls in introspection (xml2js), child_process and streams that a short-lived
// runtime process does not need. Loaded only by the systemd driver, through import().
import * as net from 'node:net';
import { TsrunError } from '../../errors';

import * as dbusCodec from 'dbus-native/lib/message';

const codec = dbusCodec as { marshall(msg: OutMessage): Buffer; unmarshall(buf: Buffer): InMessage };

/** The socket path of a `unix:path=` (or `unix:abstract=`) address; the first usable one of a `;` list. */
export function socketPathOf(address: string): string {
  for (const one of address.split(';')) {
    const m = /^unix:(.*)$/.exec(one.trim());
    if (!m) continue;
    for (const kv of m[1].split(',')) {
      const [k, v] = kv.split('=', 2);
      if (k === 'path' && v) return decodeURIComponent(v);
      if (k === 'abstract' && v) return '\0' + decodeURIComponent(v);
    }
  }
  throw new TsrunError(`D-Bus address "${address}": no unix:path= or unix:abstract= in it`);
}

const METHOD_CALL = 1;
const METHOD_RETURN = 2;
const ERROR = 3;
const SIGNAL = 4;

interface OutMessage {
  type?: number;
  serial: number;
  destination: string;
  path: string;
  interface: string;
  member: string;
  signature?: string;
  body?: unknown[];
}

export interface InMessage {
  type: number;
  serial: number;
  replySerial?: number;
  errorName?: string;
  path?: string;
  interface?: string;
  member?: string;
  sender?: string;
  signature?: string;
  body?: unknown[];
}

/** A D-Bus error reply: `name` is the error's name (org.freedesktop.systemd1.NoSuchUnit, ...). */
export class DbusError extends Error {
  constructor(
    override readonly name: string,
    message: string,
  ) {
    super(message);
  }
}

/** Bytes a complete message takes from the start of buf, or 0 when more must come first. */
export function messageLength(buf: Buffer): number {
  if (buf.length < 16) return 0;
  const le = buf[0] === 0x6c; // 'l'
  if (!le && buf[0] !== 0x42) throw new TsrunError(`D-Bus: a message with byte order ${buf[0]}`);
  const body = le ? buf.readUInt32LE(4) : buf.readUInt32BE(4);
  const fields = le ? buf.readUInt32LE(12) : buf.readUInt32BE(12);
  const total = Math.ceil((16 + fields) / 8) * 8 + body;
  return buf.length >= total ? total : 0;
}

export class DbusConnection {
  private serial = 0;
  private buffered: Buffer = Buffer.alloc(0);
  private readonly pending = new Map<number, { resolve: (m: InMessage) => void; reject: (e: Error) => void }>();
  private failure: Error | undefined;
  /** Called with every signal received. */
  onSignal: (m: InMessage) => void = () => undefined;

  private constructor(
    private readonly socket: net.Socket,
    readonly address: string,
  ) {}

  /**
   * Connects, authenticates (EXTERNAL, as `authId`: our uid, or '' to let the bus take the socket's credentials)
   * and says Hello; rejects after timeoutMs.
   */
  static async open(address: string, authId: string, timeoutMs = 10_000): Promise<DbusConnection> {
    const path = socketPathOf(address);
    const socket = net.createConnection(path);
    const conn = new DbusConnection(socket, address);
    const timer = setTimeout(() => socket.destroy(new Error(`no answer in ${timeoutMs} ms`)), timeoutMs);
    try {
      // with an identity the server needs no more from us: BEGIN and Hello go with AUTH, one round trip for all
      const pipelined = authId !== '';
      const authed = conn.handshake(authId, pipelined);
      const hello = pipelined ? conn.call('org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus', 'Hello') : undefined;
      hello?.catch(() => undefined); // a refused AUTH is the error told
      await authed;
      await (hello ?? conn.call('org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus', 'Hello'));
      return conn;
    } catch (e) {
      socket.destroy();
      const why = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such socket (is the D-Bus daemon running?)' : (e as Error).message;
      throw new TsrunError(`connect to D-Bus at ${address}: ${why}`);
    } finally {
      clearTimeout(timer);
    }
  }

  /** AUTH EXTERNAL; BEGIN is sent with it when `pipelined`, else once the server said OK. */
  private handshake(authId: string, pipelined: boolean): Promise<void> {
    return new Promise((resolve, reject) => {
      let line = '';
      const onData = (d: Buffer) => {
        line += d.toString('latin1');
        const end = line.indexOf('\r\n');
        if (end < 0) return;
        if (line.startsWith('DATA')) {
          // no identity sent: the server asks for it, and an empty one means "who the socket says I am"
          line = line.slice(end + 2);
          this.socket.write('DATA\r\n');
          return;
        }
        this.socket.off('data', onData);
        this.socket.off('error', reject);
        this.socket.off('close', onClose);
        if (!line.startsWith('OK ')) return reject(new Error(`authentication refused: ${line.slice(0, end)}`));
        // anything after the OK line is the start of the message stream
        if (!pipelined) this.socket.write('BEGIN\r\n');
        this.listen(Buffer.from(line.slice(end + 2), 'latin1'));
        resolve();
      };
      const onClose = () => reject(new Error('the bus closed the connection during authentication'));
      this.socket.on('data', onData);
      this.socket.once('error', reject);
      this.socket.once('close', onClose);
      const auth = authId ? `\0AUTH EXTERNAL ${Buffer.from(authId, 'ascii').toString('hex')}\r\n` : '\0AUTH EXTERNAL\r\n';
      this.socket.write(pipelined ? `${auth}BEGIN\r\n` : auth);
    });
  }

  private listen(initial: Buffer): void {
    this.socket.on('data', (d: Buffer) => this.receive(d));
    this.socket.on('error', (e) => this.fail(e));
    this.socket.on('close', () => this.fail(new Error('the bus closed the connection')));
    if (initial.length) this.receive(initial);
  }

  private receive(d: Buffer): void {
    this.buffered = this.buffered.length ? Buffer.concat([this.buffered, d]) : d;
    for (;;) {
      let n: number;
      let msg: InMessage;
      try {
        n = messageLength(this.buffered);
        if (!n) return;
        msg = codec.unmarshall(this.buffered.subarray(0, n));
      } catch (e) {
        this.fail(e as Error);
        this.socket.destroy();
        return;
      }
      this.buffered = this.buffered.subarray(n);
      this.dispatch(msg);
    }
  }

  private dispatch(msg: InMessage): void {
    if (msg.type === SIGNAL) return this.onSignal(msg);
    if (msg.type !== METHOD_RETURN && msg.type !== ERROR) return; // a call to us: we serve nothing
    const waiter = msg.replySerial === undefined ? undefined : this.pending.get(msg.replySerial);
    if (!waiter) return;
    this.pending.delete(msg.replySerial!);
    if (msg.type === ERROR) {
      const text = typeof msg.body?.[0] === 'string' ? (msg.body[0] as string) : msg.errorName ?? 'error';
      waiter.reject(new DbusError(msg.errorName ?? 'org.freedesktop.DBus.Error.Failed', text));
    } else waiter.resolve(msg);
  }

  private fail(e: Error): void {
    if (this.failure) return;
    this.failure = e;
    for (const w of this.pending.values()) w.reject(e);
    this.pending.clear();
  }

  /** A method call; resolves to the reply's body, rejects with a DbusError for an error reply. */
  call(destination: string, path: string, iface: string, member: string, signature?: string, body?: unknown[]): Promise<unknown[]> {
    if (this.failure) return Promise.reject(this.failure);
    const serial = ++this.serial;
    const msg: OutMessage = { type: METHOD_CALL, serial, destination, path, interface: iface, member };
    if (signature) Object.assign(msg, { signature, body });
    const bytes = codec.marshall(msg);
    return new Promise((resolve, reject) => {
      this.pending.set(serial, { resolve: (m) => resolve(m.body ?? []), reject });
      this.socket.write(bytes);
    });
  }

  close(): void {
    this.failure ??= new Error('closed');
    this.socket.destroy();
  }
}
