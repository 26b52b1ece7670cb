import { isAscii } from 'node:buffer';
import { TimeSlice } from './time-slice.ts';

export interface SliceSizes {
  /** Shorter bodies are parsed at once: JSON.parse of 1 MB (a 10 000-sample native batch) takes 3–5 ms. */
  fromBytes: number;
  /** A member array shorter than this stays in the envelope. */
  arrayFromBytes: number;
  /** Elements per JSON.parse call (256 ingest samples ≈ 120 KB, well under a ms). */
  elementsPerPart: number;
}

const defaultSizes: SliceSizes = { fromBytes: 1024 * 1024, arrayFromBytes: 64 * 1024, elementsPerPart: 256 };
/** Scanner steps (structural characters and strings) between two `slice.pause()` calls. */
const stepsPerPause = 4096;

const utf8 = new TextDecoder();

/** A large array member of the top-level object: its key and where its brackets and separating commas are. */
interface ArrayMember {
  key: string;
  open: number;
  close: number;
  commas: number[];
}

/**
 * `JSON.parse` of a UTF-8 request body (a BOM is dropped, malformed sequences become U+FFFD,
 * as TextDecoder does), without holding the event loop for the whole of a 5 MB body (SPEC §10:
 * one token's batch must not stall the other tokens' requests). The large arrays among the
 * top-level object's members (`samples`, `events`, `components`) are decoded and parsed a few
 * hundred elements at a time, with `slice.pause()` between, after a scan of the bytes that finds
 * their element boundaries (also sliced); the rest of the object is parsed once with those
 * arrays left empty. No string of the whole body is made. The result is what JSON.parse of the
 * whole text returns, and a SyntaxError is thrown exactly when JSON.parse would throw one: the
 * parts are valid JSON if and only if the whole is. A shape the scan does not vouch for
 * (duplicate or escaped member names, `__proto__`, a top-level value other than an object,
 * unbalanced brackets) is decoded and handed to JSON.parse whole.
 */
export async function parseJsonBodyInSlices(body: Uint8Array, slice: TimeSlice = new TimeSlice(), sizes: SliceSizes = defaultSizes): Promise<unknown> {
  const bytes = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const bom = bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  const arrays = bytes.length < sizes.fromBytes ? null : await scanMembers(bytes, bom, sizes.arrayFromBytes, slice);
  if (arrays === null || arrays.length === 0) return JSON.parse(decodeWhole(bytes));
  // Cut at ASCII characters, so no UTF-8 sequence is split between two parts.
  const decode = isAscii(bytes) ? (from: number, to: number) => bytes.toString('latin1', from, to) : (from: number, to: number) => bytes.toString('utf8', from, to);
  let envelope = '';
  let from = bom;
  for (const array of arrays) {
    envelope += `${decode(from, array.open)}[]`;
    from = array.close + 1;
  }
  envelope += decode(from, bytes.length);
  const whole = JSON.parse(envelope) as Record<string, unknown>;
  await slice.pause();
  for (const array of arrays) whole[array.key] = await parseElements(array, decode, sizes.elementsPerPart, slice);
  return whole;
}

function decodeWhole(bytes: Buffer): string {
  return isAscii(bytes) ? bytes.toString('latin1') : utf8.decode(bytes);
}

/** The elements of one array member, `elementsPerPart` per JSON.parse. */
async function parseElements(array: ArrayMember, decode: (from: number, to: number) => string, elementsPerPart: number, slice: TimeSlice): Promise<unknown[]> {
  const { open, close, commas } = array;
  const count = commas.length + 1;
  if (commas.length === 0 && decode(open + 1, close).trim() === '') return [];
  const elements: unknown[] = [];
  for (let first = 0; first < count; first += elementsPerPart) {
    const last = Math.min(count, first + elementsPerPart) - 1;
    const begin = first === 0 ? open + 1 : commas[first - 1]! + 1;
    const end = last === count - 1 ? close : commas[last]!;
    const part = JSON.parse(`[${decode(begin, end)}]`) as unknown[];
    // `[ ]` parses: an empty element (a trailing comma) must not.
    if (part.length !== last - first + 1) throw new SyntaxError('Unexpected "," in JSON');
    for (const element of part) elements.push(element);
    await slice.pause();
  }
  return elements;
}

/**
 * Finds the large array members of a top-level object and the commas between their elements.
 * Null when the shape is not one to slice (not an object; a member name escaped, repeated or
 * `__proto__`; brackets that do not match or a string that does not end, which JSON.parse
 * will then report).
 */
async function scanMembers(bytes: Buffer, start: number, arrayFromBytes: number, slice: TimeSlice): Promise<ArrayMember[] | null> {
  const length = bytes.length;
  let i = start;
  while (i < length && isSpace(bytes[i]!)) i++;
  if (bytes[i] !== 0x7b /* { */) return null;
  const stack: number[] = [];
  const keys = new Set<string>();
  const arrays: ArrayMember[] = [];
  let expectKey = false;
  let key: string | null = null;
  let current: ArrayMember | null = null;
  let steps = 0;
  while (i < length) {
    if (++steps === stepsPerPause) {
      steps = 0;
      await slice.pause();
    }
    const c = bytes[i]!;
    if (c === 0x22 /* " */) {
      let end = i + 1;
      // Escapes and non-ASCII bytes: a member name with either is not sliced.
      let plain = true;
      for (;;) {
        if (end >= length) return null;
        const d = bytes[end]!;
        if (d === 0x22) break;
        if (d === 0x5c /* \ */) {
          plain = false;
          end++;
        } else if (d >= 0x80) plain = false;
        end++;
      }
      if (expectKey && stack.length === 1) {
        if (!plain) return null;
        const name = bytes.toString('latin1', i + 1, end);
        if (name === '__proto__' || keys.has(name)) return null;
        keys.add(name);
        key = name;
        expectKey = false;
      }
      i = end + 1;
      continue;
    }
    switch (c) {
      case 0x7b: // {
        stack.push(c);
        if (stack.length === 1) expectKey = true;
        break;
      case 0x5b: // [
        stack.push(c);
        if (stack.length === 2 && key !== null) current = { key, open: i, close: -1, commas: [] };
        break;
      case 0x7d: // }
      case 0x5d: {
        // ]
        const opened = stack.pop();
        if (opened !== (c === 0x7d ? 0x7b : 0x5b)) return null;
        if (c === 0x5d && stack.length === 1 && current !== null) {
          current.close = i;
          if (i - current.open >= arrayFromBytes) arrays.push(current);
          current = null;
        }
        break;
      }
      case 0x2c: // ,
        if (stack.length === 1) expectKey = true;
        else if (stack.length === 2 && current !== null) current.commas.push(i);
        break;
      default:
        break;
    }
    i++;
  }
  return stack.length === 0 ? arrays : null;
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}
