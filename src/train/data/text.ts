// Plain text for a character-level language model. The dataset's identity is the SHA-256 of the
// file's bytes as they are (UTF-8; a BOM or CRLF stays part of the text). Tokens are Unicode code
// points; the vocabulary is the sorted (by code point) set of those that occur, token t = vocab[t].
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { InputError } from '../../errors.ts';
import { sha256Hex, utf8 } from '../../engine/hash.ts';
import type { TextDataset } from './dataset.ts';

/** A text dataset from UTF-8 bytes (or a string, which is encoded as UTF-8 first). */
export function textDataset(name: string, content: Uint8Array | string): TextDataset {
  const bytes = typeof content === 'string' ? utf8(content) : content;
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch (e) {
    throw new InputError(`text dataset ${name} is not valid UTF-8`, { cause: e, hint: 'save the file as UTF-8' });
  }
  const chars = Array.from(text);
  if (chars.length < 2) throw new InputError(`text dataset ${name} is empty or has one character`, { hint: 'give it some text to learn' });
  const vocab = [...new Set(chars)].sort((a, b) => a.codePointAt(0)! - b.codePointAt(0)!);
  const id = new Map(vocab.map((c, i) => [c, i]));
  const tokens = new Int32Array(chars.length);
  for (let i = 0; i < chars.length; i++) tokens[i] = id.get(chars[i])!;
  return { kind: 'text', name, hash: sha256Hex(bytes), vocab, tokens };
}

export function loadText(path: string, opts: { name?: string } = {}): TextDataset {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(readFileSync(path));
  } catch (e) {
    throw new InputError(`cannot read text file ${path}`, { cause: e, hint: 'check the dataset path in the job spec' });
  }
  return textDataset(opts.name ?? path, bytes);
}

/** Turn tokens back into text (for samples and tests). */
export function decodeTokens(vocab: readonly string[], tokens: ArrayLike<number>): string {
  let s = '';
  for (let i = 0; i < tokens.length; i++) s += vocab[tokens[i]];
  return s;
}

/** Where the built-in `tiny-text` lives in the repository (see data/README.md for its source). */
export const TINY_TEXT_PATH = fileURLToPath(new URL('../../../data/tiny-text.txt', import.meta.url));

/** The built-in `tiny-text`: an excerpt of Shakespeare's Coriolanus (public domain). */
export function loadTinyText(): TextDataset {
  return loadText(TINY_TEXT_PATH, { name: 'tiny-text' });
}
