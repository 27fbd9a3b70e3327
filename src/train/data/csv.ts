// CSV tables for classification: a header line naming the columns, one example per line, every
// column a decimal number. The label column (named in the spec) holds class ids 0..k-1; every other
// column, in header order, is a feature (input shape [F]). Fields may be double-quoted ("" escapes a
// quote); a field may not span lines. Blank lines are skipped. Each number is parsed as a decimal
// to the nearest binary64 (ECMAScript's exact rule) and then rounded to binary32.
import { readFileSync } from 'node:fs';
import { InputError } from '../../errors.ts';
import { makeClassificationDataset, type ClassificationDataset } from './dataset.ts';

export interface CsvOptions {
  /** Name of the column that holds the class id of each row. */
  labelColumn: string;
  /** Class count; default: largest label + 1. */
  numClasses?: number;
}

const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;
const INTEGER = /^\+?\d+$/;

function splitLine(line: string, lineNo: number, source: string): string[] {
  const fields: string[] = [];
  let i = 0;
  for (;;) {
    let field = '';
    while (line[i] === ' ' || line[i] === '\t') i++;
    if (line[i] === '"') {
      i++;
      for (;;) {
        if (i >= line.length) throw new InputError(`${source} line ${lineNo}: unterminated quoted field`, { hint: 'close the quote on the same line' });
        if (line[i] === '"') {
          if (line[i + 1] === '"') { field += '"'; i += 2; continue; }
          i++;
          break;
        }
        field += line[i++];
      }
      while (line[i] === ' ' || line[i] === '\t') i++;
      if (i < line.length && line[i] !== ',') throw new InputError(`${source} line ${lineNo}: text after a closing quote`);
    } else {
      const end = line.indexOf(',', i);
      field = (end < 0 ? line.slice(i) : line.slice(i, end)).trim();
      i = end < 0 ? line.length : end;
    }
    fields.push(field);
    if (i >= line.length) return fields;
    i++; // the comma
  }
}

/** Parse CSV text into a classification dataset. */
export function csvDataset(name: string, text: string, opts: CsvOptions): ClassificationDataset {
  const lines = text.split('\n');
  let lineIdx = 0;
  const nextLine = (): [string, number] | undefined => {
    while (lineIdx < lines.length) {
      const raw = lines[lineIdx++];
      const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
      if (line.trim() !== '') return [line, lineIdx];
    }
    return undefined;
  };
  const head = nextLine();
  if (!head) throw new InputError(`${name} is empty`, { hint: 'a CSV dataset needs a header line and at least one row' });
  const header = splitLine(head[0], head[1], name);
  const labelIdx = header.indexOf(opts.labelColumn);
  if (labelIdx < 0) {
    throw new InputError(`${name} has no column "${opts.labelColumn}"`, {
      details: `columns: ${header.join(', ')}`,
      hint: 'set labelColumn to one of the header names (a CSV dataset needs a header line)',
    });
  }
  if (new Set(header).size !== header.length) throw new InputError(`${name}: the header names a column twice`);
  const cols = header.length;
  if (cols < 2) throw new InputError(`${name} has no feature columns`, { hint: 'a row needs at least one feature besides the label' });
  const xs: number[] = [];
  const ys: number[] = [];
  for (let l = nextLine(); l; l = nextLine()) {
    const [line, lineNo] = l;
    const fields = splitLine(line, lineNo, name);
    if (fields.length !== cols) {
      throw new InputError(`${name} line ${lineNo} has ${fields.length} fields, the header has ${cols}`, { hint: 'every row needs one value per column' });
    }
    for (let c = 0; c < cols; c++) {
      const f = fields[c];
      if (c === labelIdx) {
        if (!INTEGER.test(f) || !Number.isSafeInteger(Number(f))) {
          throw new InputError(`${name} line ${lineNo}: label "${f}" in column "${header[c]}" is not a class id`, {
            hint: 'labels must be integers 0..k-1; map class names to numbers first',
          });
        }
        ys.push(Number(f));
      } else {
        const v = Number(f);
        if (!NUMBER.test(f) || !Number.isFinite(Math.fround(v))) {
          throw new InputError(`${name} line ${lineNo}: "${f}" in column "${header[c]}" is not a number`, {
            hint: 'every feature column must hold finite decimal numbers (binary32 range)',
          });
        }
        xs.push(v);
      }
    }
  }
  if (ys.length === 0) throw new InputError(`${name} has a header but no rows`);
  let maxLabel = 0;
  for (const v of ys) if (v > maxLabel) maxLabel = v;
  const numClasses = opts.numClasses ?? maxLabel + 1;
  if (maxLabel >= numClasses) throw new InputError(`${name}: label ${maxLabel} does not fit ${numClasses} classes`, { hint: 'raise numClasses or fix the labels' });
  return makeClassificationDataset({ name, inputShape: [cols - 1], numClasses, x: Float32Array.from(xs), y: Int32Array.from(ys) });
}

export function loadCsv(path: string, opts: CsvOptions & { name?: string }): ClassificationDataset {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new InputError(`cannot read CSV file ${path}`, { cause: e, hint: 'check the dataset path in the job spec' });
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (e) {
    throw new InputError(`CSV file ${path} is not valid UTF-8`, { cause: e });
  }
  return csvDataset(opts.name ?? path, text, opts);
}
