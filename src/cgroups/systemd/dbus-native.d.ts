// dbus-native ships no types: the two functions of its message codec that dbus.ts calls.
declare module 'dbus-native/lib/message' {
  export function marshall(msg: object): Buffer;
  export function unmarshall(buf: Buffer): object;
}
