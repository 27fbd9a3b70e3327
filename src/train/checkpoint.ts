// Checkpoints: safetensors files (loadable by Hugging Face's safetensors libraries), a canonical
// state hash (DESIGN §2.5) and a hash chain over a run's checkpoints (DESIGN §3).
//
// Canonical state hash, version 2 (docs/verification.md §3): SHA-256 over the state PREIMAGE
// (integers little-endian):
//   "veritrain/state/v2" 0x00                 19 bytes
//   specHash                                  32 raw bytes: a state belongs to one job
//   u64 step                                  optimizer steps taken by the model (the step counter)
//   u64 optimizerSteps                        the optimizer's own counter (Adam's t)
//   u64 cursor.step, u64 cursor.epoch         the data cursor (see data/batch.ts)
//   u32 tensorCount
//   per tensor, in ascending name order (names are ASCII, so this is byte order):
//     sha256(name)                            32 bytes
//     tensorCommit(shape, data)               32 bytes: commit.ts, a Merkle root over 1 KiB chunks
//                                             of the little-endian binary32 data, bound to the shape
// Parameters and optimizer state (named optim.<slot>.<param>) are all just tensors here. The
// preimage is 87 + 64·n bytes, so a contract can open any tensor of a state (and through its
// commitment any element) from it.
//
// Hash chain: link_0 = SHA-256("veritrain/chain/v1" 0x00 ‖ specHash as 32 raw bytes) (genesis);
// link_i = SHA-256(link_{i-1} ‖ stateHash_i), both as 32 raw bytes. Each checkpoint stores its
// prevLink and link; chain.json in the run directory lists (step, stateHash, prevLink, link).
//
// File: safetensors (8-byte LE header length N, N bytes of JSON padded with spaces to a multiple of
// 8, then the tensor bytes in ascending name order, no gaps). The header is written canonically:
// {"__metadata__":{sorted string keys},"<name>":{"dtype":"F32","shape":[...],"data_offsets":[b,e]},...}
// with tensors in name order and no whitespace, so equal states give byte-identical files and the
// reader can insist on that form: any changed byte anywhere is caught.
import { closeSync, fstatSync, linkSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, renameSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { InputError, IntegrityError, NumericError } from '../errors.ts';
import { fsyncDir, writeDurably } from '../files.ts';
import { f32Bytes, LITTLE_ENDIAN, sha256, sha256Hex, utf8 } from '../engine/hash.ts';
import { tensorCommits } from './commit.ts';
import type { DataCursor } from './data/batch.ts';

export const CHECKPOINT_FORMAT = 'veritrain-checkpoint/1';
export const CHAIN_FORMAT = 'veritrain-chain/1';
export const CHAIN_FILE = 'chain.json';
const MAX_HEADER = 100_000_000; // the safetensors libraries' own limit
const NAME = /^[A-Za-z0-9_.\-/:]+$/;
const HEX64 = /^[0-9a-f]{64}$/;
const UINT = /^(0|[1-9][0-9]*)$/;

export interface TensorData {
  shape: number[];
  data: Float32Array;
}
export type TensorRecord = Record<string, TensorData>;

/** What the state hash covers. */
export interface CheckpointState {
  specHash: string;
  step: number;
  tensors: TensorRecord;
  optimizerSteps: number;
  cursor: DataCursor;
}

/** What saveCheckpoint takes: a state and the previous chain link. */
export interface CheckpointInput extends CheckpointState {
  /** link of the previous checkpoint, or genesisLink(specHash) for the first. */
  prevLink: string;
}

/** A checkpoint as read back: everything it was saved with, plus its hashes. */
export interface Checkpoint extends CheckpointInput {
  stateHash: string;
  link: string;
}

export interface SavedCheckpoint {
  path: string;
  stateHash: string;
  link: string;
}

export interface ChainEntry {
  step: number;
  file: string;
  stateHash: string;
  prevLink: string;
  link: string;
}

export interface ChainFile {
  format: typeof CHAIN_FORMAT;
  specHash: string;
  genesis: string;
  head: string;
  entries: ChainEntry[];
}

function hexBytes(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length >>> 1);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

function checkHex(what: string, v: string): void {
  if (!HEX64.test(v)) throw new InputError(`${what} must be 64 lowercase hex digits, got "${v}"`);
}

function checkCount(what: string, v: number): void {
  if (!(Number.isSafeInteger(v) && v >= 0)) throw new InputError(`${what} must be a non-negative integer, got ${v}`);
}

function elements(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

function u64(v: number): Uint8Array {
  const b = new Uint8Array(8);
  const dv = new DataView(b.buffer);
  dv.setUint32(0, v % 4294967296, true);
  dv.setUint32(4, Math.floor(v / 4294967296), true);
  return b;
}

/** Tensor names in canonical order; checks each name and shape against its data. */
function sortedNames(tensors: TensorRecord): string[] {
  const names = Object.keys(tensors).sort();
  for (const name of names) {
    if (!NAME.test(name) || name === '__metadata__') {
      throw new InputError(`tensor name "${name}" is not allowed in a checkpoint`, { hint: 'use ASCII letters, digits and . _ - / :' });
    }
    const { shape, data } = tensors[name];
    for (const d of shape) checkCount(`dimension of ${name}`, d);
    if (elements(shape) !== data.length) {
      throw new InputError(`tensor ${name} has shape [${shape}] but ${data.length} values`);
    }
  }
  return names;
}

export const STATE_TAG = 'veritrain/state/v2\0';
/** Bytes of the preimage before the per-tensor entries. */
export const STATE_HEADER_BYTES = 19 + 32 + 32 + 4;

/** Each tensor of a state in canonical (name) order, with its commitment (commit.ts). */
export function stateCommits(s: CheckpointState): { name: string; shape: number[]; commit: Uint8Array }[] {
  const names = sortedNames(s.tensors);
  const commits = tensorCommits(names.map((name) => s.tensors[name]));
  return names.map((name, i) => ({ name, shape: [...s.tensors[name].shape], commit: commits[i] }));
}

/**
 * The state preimage (layout at the top of this file): what a judge is shown to open the state's
 * tensors. `commits` (from stateCommits) saves recomputing them.
 */
export function statePreimage(s: CheckpointState, commits = stateCommits(s)): Uint8Array {
  checkHex('specHash', s.specHash);
  checkCount('step', s.step);
  checkCount('optimizerSteps', s.optimizerSteps);
  checkCount('cursor.step', s.cursor.step);
  checkCount('cursor.epoch', s.cursor.epoch);
  const out = new Uint8Array(STATE_HEADER_BYTES + 64 * commits.length);
  out.set(utf8(STATE_TAG), 0);
  out.set(hexBytes(s.specHash), 19);
  out.set(u64(s.step), 51);
  out.set(u64(s.optimizerSteps), 59);
  out.set(u64(s.cursor.step), 67);
  out.set(u64(s.cursor.epoch), 75);
  new DataView(out.buffer).setUint32(83, commits.length, true);
  let o = STATE_HEADER_BYTES;
  for (const c of commits) {
    out.set(sha256(utf8(c.name)), o);
    out.set(c.commit, o + 32);
    o += 64;
  }
  return out;
}

/** The canonical state hash: SHA-256 of the state preimage. No copies of tensor data. */
export function stateHash(s: CheckpointState): string {
  return sha256Hex(statePreimage(s));
}

/** The chain's first link, a function of the job alone. */
export function genesisLink(specHash: string): string {
  checkHex('specHash', specHash);
  return sha256Hex(utf8('veritrain/chain/v1\0'), hexBytes(specHash));
}

/** link_i = SHA-256(link_{i-1} ‖ stateHash_i). */
export function chainLink(prevLink: string, stateHashHex: string): string {
  checkHex('prevLink', prevLink);
  checkHex('stateHash', stateHashHex);
  return sha256Hex(hexBytes(prevLink), hexBytes(stateHashHex));
}

export function checkpointFileName(step: number): string {
  checkCount('step', step);
  return `ckpt-${String(step).padStart(10, '0')}.safetensors`;
}
const FILE_RE = /^ckpt-(\d{10,})\.safetensors$/;

interface HeaderEntry {
  name: string;
  shape: number[];
  begin: number;
  end: number;
}

/** The canonical header JSON, padded with spaces to a multiple of 8 bytes. */
function headerBytes(metadata: Record<string, string>, entries: readonly HeaderEntry[]): Uint8Array {
  const meta = Object.keys(metadata).sort().map((k) => `${JSON.stringify(k)}:${JSON.stringify(metadata[k])}`);
  let json = `{"__metadata__":{${meta.join(',')}}`;
  for (const e of entries) {
    json += `,${JSON.stringify(e.name)}:{"dtype":"F32","shape":${JSON.stringify(e.shape)},"data_offsets":[${e.begin},${e.end}]}`;
  }
  json += '}';
  const raw = utf8(json);
  const padded = new Uint8Array(Math.ceil(raw.length / 8) * 8).fill(0x20);
  padded.set(raw);
  return padded;
}

function metadataOf(c: CheckpointInput, sh: string, link: string): Record<string, string> {
  return {
    format: CHECKPOINT_FORMAT,
    step: String(c.step),
    optimizerSteps: String(c.optimizerSteps),
    'cursor.step': String(c.cursor.step),
    'cursor.epoch': String(c.cursor.epoch),
    specHash: c.specHash,
    stateHash: sh,
    prevLink: c.prevLink,
    link,
  };
}

/** Serialize a checkpoint to safetensors bytes (a pure function: equal input, equal bytes). */
export function encodeCheckpoint(c: CheckpointInput): { bytes: Uint8Array; stateHash: string; link: string } {
  checkHex('specHash', c.specHash);
  checkHex('prevLink', c.prevLink);
  const names = sortedNames(c.tensors);
  for (const name of names) {
    const d = c.tensors[name].data;
    for (let i = 0; i < d.length; i++) {
      if (d[i] - d[i] !== 0) {
        throw new NumericError(`tensor ${name} holds ${d[i]} at index ${i}; a checkpoint takes finite values only`, {
          hint: 'NaN/Inf bit patterns are not reproducible; lower the learning rate or clip gradients',
        });
      }
    }
  }
  const sh = stateHash(c);
  const link = chainLink(c.prevLink, sh);
  const entries: HeaderEntry[] = [];
  let offset = 0;
  for (const name of names) {
    const { shape, data } = c.tensors[name];
    entries.push({ name, shape: [...shape], begin: offset, end: offset + data.length * 4 });
    offset += data.length * 4;
  }
  const header = headerBytes(metadataOf(c, sh, link), entries);
  const bytes = new Uint8Array(8 + header.length + offset);
  bytes.set(u64(header.length), 0);
  bytes.set(header, 8);
  let o = 8 + header.length;
  for (const name of names) {
    const b = f32Bytes(c.tensors[name].data);
    bytes.set(b, o);
    o += b.length;
  }
  return { bytes, stateHash: sh, link };
}

function corrupt(source: string, what: string): IntegrityError {
  return new IntegrityError(`checkpoint ${source} is corrupt: ${what}`, {
    hint: 'fetch the checkpoint again, or recompute it by replaying from the previous checkpoint',
  });
}

/** Parse and validate the header region; returns metadata and tensor entries in file order. */
function parseHeader(bytes: Uint8Array, source: string, fileLength: number | null) {
  if (bytes.length < 8) throw corrupt(source, `truncated: ${bytes.length} bytes, fewer than the 8-byte header length`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lo = dv.getUint32(0, true), hi = dv.getUint32(4, true);
  const n = hi * 4294967296 + lo;
  if (hi >= 0x200000 || n > MAX_HEADER) throw corrupt(source, `header length ${n} exceeds ${MAX_HEADER} bytes`);
  if (8 + n > bytes.length) throw corrupt(source, `truncated: header of ${n} bytes but only ${bytes.length - 8} follow`);
  const headerRaw = bytes.subarray(8, 8 + n);
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(headerRaw));
  } catch (e) {
    throw corrupt(source, `header is not valid UTF-8 JSON (${(e as Error).message})`);
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw corrupt(source, 'header is not a JSON object');
  const obj = json as Record<string, unknown>;
  const metaRaw = obj.__metadata__;
  const metadata: Record<string, string> = {};
  if (metaRaw !== null && typeof metaRaw === 'object' && !Array.isArray(metaRaw)) {
    for (const [k, v] of Object.entries(metaRaw)) {
      if (typeof v !== 'string') throw corrupt(source, `metadata "${k}" is not a string`);
      metadata[k] = v;
    }
  }
  if (metadata.format !== CHECKPOINT_FORMAT) {
    throw new IntegrityError(`${source} is not a ${CHECKPOINT_FORMAT} file (format ${JSON.stringify(metadata.format ?? null)})`, {
      hint: 'veritrain reads only checkpoints that veritrain wrote',
    });
  }
  const entries: HeaderEntry[] = [];
  for (const [name, e] of Object.entries(obj)) {
    if (name === '__metadata__') continue;
    const t = e as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (t === null || typeof t !== 'object') throw corrupt(source, `tensor ${name} has no description`);
    if (t.dtype !== 'F32') throw corrupt(source, `tensor ${name} has dtype ${JSON.stringify(t.dtype)}, expected "F32"`);
    const shape = t.shape, off = t.data_offsets;
    const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
    if (!Array.isArray(shape) || !shape.every(isCount)) throw corrupt(source, `tensor ${name} has a bad shape`);
    if (!Array.isArray(off) || off.length !== 2 || !off.every(isCount) || off[1] < off[0]) {
      throw corrupt(source, `tensor ${name} has bad data_offsets`);
    }
    entries.push({ name, shape, begin: off[0], end: off[1] });
  }
  // safetensors' own rule: tensors tile the data region from 0, in offset order, with no gaps.
  entries.sort((a, b) => a.begin - b.begin);
  let pos = 0;
  for (const e of entries) {
    if (e.begin !== pos) throw corrupt(source, `tensor ${e.name} starts at ${e.begin}, expected ${pos}`);
    if (e.end - e.begin !== elements(e.shape) * 4) throw corrupt(source, `tensor ${e.name} has ${e.end - e.begin} bytes for shape [${e.shape}]`);
    pos = e.end;
  }
  if (fileLength === null) return { metadata, entries, headerRaw, dataStart: 8 + n };
  const dataLength = fileLength - 8 - n;
  if (pos > dataLength) throw corrupt(source, `truncated: tensors need ${pos} data bytes, the file holds ${dataLength}`);
  if (pos < dataLength) throw corrupt(source, `${dataLength - pos} stray bytes after the last tensor`);
  return { metadata, entries, headerRaw, dataStart: 8 + n };
}

function readMeta(metadata: Record<string, string>, key: string, source: string, kind: 'uint' | 'hex'): string {
  const v = metadata[key];
  if (v === undefined) throw corrupt(source, `metadata "${key}" is missing`);
  if (!(kind === 'uint' ? UINT.test(v) && Number.isSafeInteger(Number(v)) : HEX64.test(v))) {
    throw corrupt(source, `metadata "${key}" = ${JSON.stringify(v)} is not a valid ${kind === 'uint' ? 'count' : 'hash'}`);
  }
  return v;
}

function metaFields(metadata: Record<string, string>, source: string): Omit<Checkpoint, 'tensors'> {
  const count = (k: string) => Number(readMeta(metadata, k, source, 'uint'));
  return {
    step: count('step'),
    optimizerSteps: count('optimizerSteps'),
    cursor: { step: count('cursor.step'), epoch: count('cursor.epoch') },
    specHash: readMeta(metadata, 'specHash', source, 'hex'),
    prevLink: readMeta(metadata, 'prevLink', source, 'hex'),
    stateHash: readMeta(metadata, 'stateHash', source, 'hex'),
    link: readMeta(metadata, 'link', source, 'hex'),
  };
}

/** Parse safetensors bytes written by encodeCheckpoint; verifies form, state hash and chain link. */
export function decodeCheckpoint(bytes: Uint8Array, source = '(bytes)'): Checkpoint {
  const { metadata, entries, headerRaw, dataStart } = parseHeader(bytes, source, bytes.length);
  const c: Checkpoint = { ...metaFields(metadata, source), tensors: {} };
  if (Object.keys(metadata).length !== 9) throw corrupt(source, 'unexpected metadata keys');
  // Canonical form: the header must be exactly what we would write for these contents.
  const byName = [...entries].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const canonical = headerBytes(metadata, byName);
  if (canonical.length !== headerRaw.length || !canonical.every((b, i) => b === headerRaw[i])) {
    throw corrupt(source, 'the header is not in canonical form (edited or damaged)');
  }
  for (const e of byName) {
    if (!NAME.test(e.name)) throw corrupt(source, `bad tensor name ${JSON.stringify(e.name)}`);
    const start = dataStart + e.begin, len = e.end - e.begin;
    let data: Float32Array;
    if (LITTLE_ENDIAN) {
      data = new Float32Array(bytes.buffer.slice(bytes.byteOffset + start, bytes.byteOffset + start + len));
    } else {
      data = new Float32Array(len / 4);
      const dv = new DataView(bytes.buffer, bytes.byteOffset + start, len);
      for (let i = 0; i < data.length; i++) data[i] = dv.getFloat32(4 * i, true);
    }
    c.tensors[e.name] = { shape: e.shape, data };
  }
  const sh = stateHash(c);
  if (sh !== c.stateHash) throw corrupt(source, `state hash mismatch: metadata says ${c.stateHash}, the contents hash to ${sh}`);
  const link = chainLink(c.prevLink, sh);
  if (link !== c.link) throw corrupt(source, `chain link mismatch: metadata says ${c.link}, prevLink and state give ${link}`);
  return c;
}

/** Read and fully verify a checkpoint file. */
export function loadCheckpoint(path: string): Checkpoint {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(readFileSync(path));
  } catch (e) {
    throw new InputError(`cannot read checkpoint ${path}`, { cause: e, hint: 'check the path' });
  }
  return decodeCheckpoint(bytes, path);
}

/** Read only a checkpoint's header metadata (cheap: no tensor data, no state-hash check). */
export function readCheckpointInfo(path: string): Omit<Checkpoint, 'tensors'> {
  const fd = openSync(path, 'r');
  let head: Uint8Array;
  let fileLength: number;
  try {
    fileLength = fstatSync(fd).size;
    const size = new Uint8Array(8);
    const got = readSync(fd, size, 0, 8, 0);
    const dv = new DataView(size.buffer);
    const n = got < 8 ? 0 : Math.min(dv.getUint32(0, true) + dv.getUint32(4, true) * 4294967296, MAX_HEADER);
    head = new Uint8Array(8 + n);
    head = head.subarray(0, readSync(fd, head, 0, head.length, 0));
  } finally {
    closeSync(fd);
  }
  // The file's length is checked against the header too, so a truncated file is caught here.
  const { metadata } = parseHeader(head, path, fileLength);
  return metaFields(metadata, path);
}

/** Path of the checkpoint with the highest step in `dir`, or null when there is none. */
export function latestCheckpoint(dir: string): string | null {
  const files = listCheckpoints(dir);
  return files.length === 0 ? null : join(dir, files[files.length - 1].file);
}

function listCheckpoints(dir: string): { step: number; file: string }[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  const out: { step: number; file: string }[] = [];
  for (const file of names) {
    const m = FILE_RE.exec(file);
    if (m) out.push({ step: Number(m[1]), file });
  }
  return out.sort((a, b) => a.step - b.step);
}

function sameBytes(path: string, bytes: Uint8Array): boolean {
  const have = readFileSync(path);
  return have.length === bytes.length && have.equals(bytes);
}

/**
 * Write a checkpoint into run directory `dir` as ckpt-<step>.safetensors, atomically (temp file,
 * fsync, hard link into place, so an existing file is never replaced), then update chain.json.
 * Saving identical bytes again is a no-op; a different file at that step is an IntegrityError, and
 * so is a prevLink that does not continue the previous checkpoint in `dir`.
 */
export function saveCheckpoint(dir: string, c: CheckpointInput): SavedCheckpoint {
  const { bytes, stateHash: sh, link } = encodeCheckpoint(c);
  mkdirSync(dir, { recursive: true });
  const file = checkpointFileName(c.step);
  const path = join(dir, file);
  const refuse = () =>
    new IntegrityError(`refusing to overwrite checkpoint ${path}: it holds a different state`, {
      hint: 'a run directory holds one chain; replay into a fresh directory, or delete the old run on purpose',
    });
  const existing = listCheckpoints(dir);
  if (existing.some((e) => e.file === file)) {
    if (sameBytes(path, bytes)) return { path, stateHash: sh, link };
    throw refuse();
  }
  const later = existing.find((e) => e.step > c.step);
  if (later) {
    throw new IntegrityError(`${dir} already has a checkpoint at step ${later.step}, after step ${c.step}`, {
      hint: 'resume from the latest checkpoint, or use a fresh directory',
    });
  }
  const before = existing[existing.length - 1];
  if (before) {
    // Every header in the directory must read and chain before a new file goes in: a damaged
    // earlier checkpoint would otherwise surface only in writeChain, after this file was added.
    readChainFromCheckpoints(dir);
    const prev = readCheckpointInfo(join(dir, before.file));
    if (prev.specHash !== c.specHash) {
      throw new IntegrityError(`${dir} holds checkpoints of another job (spec ${prev.specHash})`, { hint: 'use a fresh directory' });
    }
    if (prev.link !== c.prevLink) {
      throw new IntegrityError(`checkpoint at step ${c.step} does not continue the chain in ${dir}`, {
        details: `prevLink ${c.prevLink}, but step ${prev.step} ends the chain with ${prev.link}`,
        hint: 'pass the link returned by the previous saveCheckpoint',
      });
    }
  }
  const tmp = writeDurably(path, bytes);
  try {
    try {
      linkSync(tmp, path);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') {
        if (!sameBytes(path, bytes)) throw refuse();
      } else if (code === 'EPERM' || code === 'ENOTSUP' || code === 'EXDEV' || code === 'ENOSYS') {
        renameSync(tmp, path); // no hard links here: the check above guards against overwriting
      } else {
        throw e;
      }
    }
  } finally {
    try {
      unlinkSync(tmp);
    } catch {
      // already renamed
    }
  }
  fsyncDir(dir);
  writeChain(dir);
  return { path, stateHash: sh, link };
}

/** Rebuild chain.json from the checkpoint headers in `dir` (verifying the links), write it atomically. */
export function writeChain(dir: string): ChainFile {
  const chain = readChainFromCheckpoints(dir);
  const json = JSON.stringify(chain, null, 2) + '\n';
  const path = join(dir, CHAIN_FILE);
  const tmp = writeDurably(path, utf8(json));
  renameSync(tmp, path);
  fsyncDir(dir);
  return chain;
}

/** The chain of the checkpoints in `dir`, from their headers; consecutive links must agree. */
export function readChainFromCheckpoints(dir: string): ChainFile {
  const entries: ChainEntry[] = [];
  let specHash = '';
  for (const { file } of listCheckpoints(dir)) {
    const info = readCheckpointInfo(join(dir, file));
    if (specHash && info.specHash !== specHash) throw new IntegrityError(`${dir} mixes checkpoints of two job specs`, { hint: 'one run directory per job' });
    specHash = info.specHash;
    const prev = entries[entries.length - 1];
    if (prev && info.prevLink !== prev.link) {
      throw new IntegrityError(`the hash chain in ${dir} breaks at step ${info.step}`, {
        details: `its prevLink ${info.prevLink} is not step ${prev.step}'s link ${prev.link}`,
      });
    }
    entries.push({ step: info.step, file, stateHash: info.stateHash, prevLink: info.prevLink, link: info.link });
  }
  const genesis = specHash ? genesisLink(specHash) : '';
  return { format: CHAIN_FORMAT, specHash, genesis, head: entries.length ? entries[entries.length - 1].link : genesis, entries };
}
