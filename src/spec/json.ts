// JSON.parse, with a syntax error told as a line, a column and what was
// expected there. Node's own messages give a character offset at best (and
// not always), so on failure a small scanner walks the text to the first
// error. Valid documents never reach the scanner.

export type JsonResult = { ok: true; value: unknown } | { ok: false; line: number; column: number; message: string };

export function parseJson(text: string): JsonResult {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (e) {
    const found = locateSyntaxError(text);
    if (found) return { ok: false, ...lineColumn(text, found.pos), message: found.message };
    // The scanner and V8 disagree (should not happen): report what V8 said.
    const m = /position (\d+)/.exec(String((e as Error).message));
    const pos = m ? Number(m[1]) : 0;
    return { ok: false, ...lineColumn(text, pos), message: String((e as Error).message) };
  }
}

/** "invalid JSON at line 3, column 5: expected ..." */
export function describeJsonError(r: { line: number; column: number; message: string }): string {
  return `invalid JSON at line ${r.line}, column ${r.column}: ${r.message}`;
}

function lineColumn(text: string, pos: number): { line: number; column: number } {
  let line = 1;
  let start = 0;
  for (let i = 0; i < pos && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      start = i + 1;
    }
  }
  return { line, column: pos - start + 1 };
}

class SyntaxFault {
  constructor(
    readonly pos: number,
    readonly message: string,
  ) {}
}

/** Finds the first syntax error of RFC 8259 JSON, or undefined if there is none. */
export function locateSyntaxError(text: string): { pos: number; message: string } | undefined {
  let i = 0;
  const n = text.length;

  const describe = (at: number) => {
    if (at >= n) return 'end of input';
    const ch = text[at];
    const code = ch.charCodeAt(0);
    if (code < 0x20 || code === 0x7f || code === 0xfeff) return `character U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
    return `'${ch}'`;
  };
  const fail = (what: string, at = i): never => {
    throw new SyntaxFault(at, `unexpected ${describe(at)}, expected ${what}`);
  };
  const ws = () => {
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) i++;
      else break;
    }
  };
  const literal = (word: string) => {
    for (let k = 0; k < word.length; k++) {
      if (text[i + k] !== word[k]) fail(`'${word}'`, i + k);
    }
    i += word.length;
  };
  const string = () => {
    i++; // opening quote
    for (;;) {
      if (i >= n) fail('a closing \'"\'');
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        i++;
        return;
      }
      if (c < 0x20) throw new SyntaxFault(i, `control character U+${c.toString(16).toUpperCase().padStart(4, '0')} in a string (write it escaped)`);
      if (c === 0x5c) {
        const e = text[i + 1];
        if (e === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) throw new SyntaxFault(i, 'bad \\u escape in a string: expected 4 hex digits');
          i += 6;
        } else if (e !== undefined && '"\\/bfnrt'.includes(e)) {
          i += 2;
        } else {
          throw new SyntaxFault(i, `bad escape ${e === undefined ? '\\' : `\\${e}`} in a string`);
        }
        continue;
      }
      i++;
    }
  };
  const number = () => {
    const m = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/.exec(text.slice(i, i + 400));
    if (!m || m[0] === '-' || m[0] === '') fail('a number');
    const end = i + m![0].length;
    // "01", "1.", "1e" and similar: the regexp stops early; the next character tells.
    if (end < n && /[0-9.eE+-]/.test(text[end])) throw new SyntaxFault(end, `invalid number ${JSON.stringify(text.slice(i, end + 1))}`);
    i = end;
  };
  const value = (): void => {
    ws();
    const ch = text[i];
    if (ch === '{') {
      i++;
      ws();
      if (text[i] === '}') {
        i++;
        return;
      }
      for (;;) {
        ws();
        if (text[i] !== '"') fail("a property name in double quotes");
        string();
        ws();
        if (text[i] !== ':') fail("':' after a property name");
        i++;
        value();
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === '}') {
          i++;
          return;
        }
        fail("',' or '}' after a property value");
      }
    } else if (ch === '[') {
      i++;
      ws();
      if (text[i] === ']') {
        i++;
        return;
      }
      for (;;) {
        value();
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === ']') {
          i++;
          return;
        }
        fail("',' or ']' after an array element");
      }
    } else if (ch === '"') {
      string();
    } else if (ch === 't') literal('true');
    else if (ch === 'f') literal('false');
    else if (ch === 'n') literal('null');
    else if (ch === '-' || (ch !== undefined && ch >= '0' && ch <= '9')) number();
    else fail('a value');
  };

  try {
    value();
    ws();
    if (i < n) fail('the end of the document');
    return undefined;
  } catch (e) {
    if (e instanceof SyntaxFault) return { pos: e.pos, message: e.message };
    if (e instanceof RangeError) return undefined; // nested too deep for this scanner
    throw e;
  }
}
