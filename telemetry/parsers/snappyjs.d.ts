// snappyjs ships no types. Snappy block format (not the framed stream format).
declare module 'snappyjs' {
  /** Throws on an invalid bitstream or when the declared length exceeds `maxLength` bytes. */
  export function uncompress<T extends Uint8Array | ArrayBuffer>(compressed: T, maxLength?: number): T;
  export function compress<T extends Uint8Array | ArrayBuffer>(uncompressed: T): T;
  const snappy: { uncompress: typeof uncompress; compress: typeof compress };
  export default snappy;
}
