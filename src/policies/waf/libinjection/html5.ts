/**
 * libinjection's HTML5 tokenizer (libinjection_html5.c, v3.9.2), in
 * TypeScript: a reduced HTML5 state machine that yields tag names, attribute
 * names and values, comments and doctypes, starting either in text or inside
 * an attribute value (the five contexts libinjection_xss tries).
 *
 * Input is bytes read as latin1. Kept from the C code on purpose: NUL is white
 * space after a tag name (strchr finds the terminator), and byte 0xFF reads as
 * end of input where the C code returns a signed char that equals EOF (-1).
 * Every state moves forward: the work is linear in the input. States hand
 * over through next()'s loop, not by calling each other (see jump()).
 */

import { asciiUpper } from './sqli-lookup.js';

export enum H5Type {
  DATA_TEXT,
  TAG_NAME_OPEN,
  TAG_NAME_CLOSE,
  TAG_NAME_SELFCLOSE,
  TAG_DATA,
  TAG_CLOSE,
  ATTR_NAME,
  ATTR_VALUE,
  TAG_COMMENT,
  DOCTYPE,
}

export enum H5Start {
  DATA_STATE,
  VALUE_NO_QUOTE,
  VALUE_SINGLE_QUOTE,
  VALUE_DOUBLE_QUOTE,
  VALUE_BACK_QUOTE,
}

const EOF = -1;

type State = (hs: H5State) => boolean;

/** h5_is_white: space, \t \n \v \f \r, and NUL. */
const isWhite = (c: number): boolean => c === 32 || (c >= 9 && c <= 13) || c === 0;
const isAlpha = (c: number): boolean => (c >= 97 && c <= 122) || (c >= 65 && c <= 90);

export class H5State {
  pos = 0;
  isClose = false;
  tokenStart = 0;
  tokenLen = 0;
  tokenType: H5Type = H5Type.DATA_TEXT;
  state: State;
  readonly len: number;

  constructor(
    readonly s: string,
    start: H5Start,
  ) {
    this.len = s.length;
    this.state =
      start === H5Start.DATA_STATE
        ? stateData
        : start === H5Start.VALUE_NO_QUOTE
          ? stateBeforeAttributeName
          : start === H5Start.VALUE_SINGLE_QUOTE
            ? stateAttributeValueSingleQuote
            : start === H5Start.VALUE_DOUBLE_QUOTE
              ? stateAttributeValueDoubleQuote
              : stateAttributeValueBackQuote;
  }

  /** Set by jump(): the state returned without a token and handed over to this.state. */
  again = false;

  /** The next token; false at the end. */
  next(): boolean {
    for (;;) {
      this.again = false;
      const produced = this.state(this);
      if (!this.again) return produced;
    }
  }


  token(start: number, len: number, type: H5Type): void {
    this.tokenStart = start;
    this.tokenLen = len;
    this.tokenType = type;
  }
}

/**
 * The C states hand over to each other by tail calls ("</></>...", "a////"
 * chain thousands of them); here a state that hands over sets the next state
 * and returns, and next() loops, so the stack stays flat.
 */
function jump(hs: H5State, next: State): boolean {
  hs.state = next;
  hs.again = true;
  return false;
}

/** h5_skip_white: the first non-white byte as the C code's signed char (0xFF is EOF), or EOF. */
function skipWhite(hs: H5State): number {
  while (hs.pos < hs.len) {
    const c = hs.s.charCodeAt(hs.pos);
    if (c === 0 || c === 0x20 || (c >= 0x09 && c <= 0x0d)) hs.pos += 1;
    else return c === 0xff ? EOF : c;
  }
  return EOF;
}

const stateEof: State = () => false;

function stateData(hs: H5State): boolean {
  const idx = hs.s.indexOf('<', hs.pos);
  if (idx < 0) {
    hs.token(hs.pos, hs.len - hs.pos, H5Type.DATA_TEXT);
    hs.state = stateEof;
    if (hs.tokenLen === 0) return false;
  } else {
    hs.token(hs.pos, idx - hs.pos, H5Type.DATA_TEXT);
    hs.pos = idx + 1;
    hs.state = stateTagOpen;
    if (hs.tokenLen === 0) return jump(hs, stateTagOpen);
  }
  return true;
}

function stateTagOpen(hs: H5State): boolean {
  if (hs.pos >= hs.len) return false;
  const c = hs.s.charCodeAt(hs.pos);
  if (c === 33) {
    hs.pos += 1;
    return jump(hs, stateMarkupDeclarationOpen);
  } else if (c === 47) {
    hs.pos += 1;
    hs.isClose = true;
    return jump(hs, stateEndTagOpen);
  } else if (c === 63) {
    hs.pos += 1;
    return jump(hs, stateBogusComment);
  } else if (c === 37) {
    // "<%...%>": not in the spec; IE <= 9 and old Safari read it as a comment.
    hs.pos += 1;
    return jump(hs, stateBogusComment2);
  } else if (isAlpha(c) || c === 0) {
    return jump(hs, stateTagName);
  }
  if (hs.pos === 0) return jump(hs, stateData);
  hs.token(hs.pos - 1, 1, H5Type.DATA_TEXT);
  hs.state = stateData;
  return true;
}

function stateEndTagOpen(hs: H5State): boolean {
  if (hs.pos >= hs.len) return false;
  const c = hs.s.charCodeAt(hs.pos);
  if (c === 62) return jump(hs, stateData);
  if (isAlpha(c)) return jump(hs, stateTagName);
  hs.isClose = false;
  return jump(hs, stateBogusComment);
}

function stateTagNameClose(hs: H5State): boolean {
  hs.isClose = false;
  hs.token(hs.pos, 1, H5Type.TAG_NAME_CLOSE);
  hs.pos += 1;
  hs.state = hs.pos < hs.len ? stateData : stateEof;
  return true;
}

function stateTagName(hs: H5State): boolean {
  let pos = hs.pos;
  while (pos < hs.len) {
    const c = hs.s.charCodeAt(pos);
    if (c === 0) {
      pos += 1; // old browsers ignore NUL inside a tag name
    } else if (isWhite(c)) {
      hs.token(hs.pos, pos - hs.pos, H5Type.TAG_NAME_OPEN);
      hs.pos = pos + 1;
      hs.state = stateBeforeAttributeName;
      return true;
    } else if (c === 47) {
      hs.token(hs.pos, pos - hs.pos, H5Type.TAG_NAME_OPEN);
      hs.pos = pos + 1;
      hs.state = stateSelfClosingStartTag;
      return true;
    } else if (c === 62) {
      hs.tokenStart = hs.pos;
      hs.tokenLen = pos - hs.pos;
      if (hs.isClose) {
        hs.pos = pos + 1;
        hs.isClose = false;
        hs.tokenType = H5Type.TAG_CLOSE;
        hs.state = stateData;
      } else {
        hs.pos = pos;
        hs.tokenType = H5Type.TAG_NAME_OPEN;
        hs.state = stateTagNameClose;
      }
      return true;
    } else {
      pos += 1;
    }
  }
  hs.token(hs.pos, hs.len - hs.pos, H5Type.TAG_NAME_OPEN);
  hs.state = stateEof;
  return true;
}

function stateBeforeAttributeName(hs: H5State): boolean {
  const c = skipWhite(hs);
  if (c === EOF) return false;
  if (c === 47) {
    hs.pos += 1;
    return jump(hs, stateSelfClosingStartTag);
  }
  if (c === 62) {
    hs.state = stateData;
    hs.token(hs.pos, 1, H5Type.TAG_NAME_CLOSE);
    hs.pos += 1;
    return true;
  }
  return jump(hs, stateAttributeName);
}

function stateAttributeName(hs: H5State): boolean {
  let pos = hs.pos + 1;
  while (pos < hs.len) {
    const c = hs.s.charCodeAt(pos);
    if (isWhite(c)) {
      hs.token(hs.pos, pos - hs.pos, H5Type.ATTR_NAME);
      hs.state = stateAfterAttributeName;
      hs.pos = pos + 1;
      return true;
    } else if (c === 47) {
      hs.token(hs.pos, pos - hs.pos, H5Type.ATTR_NAME);
      hs.state = stateSelfClosingStartTag;
      hs.pos = pos + 1;
      return true;
    } else if (c === 61) {
      hs.token(hs.pos, pos - hs.pos, H5Type.ATTR_NAME);
      hs.state = stateBeforeAttributeValue;
      hs.pos = pos + 1;
      return true;
    } else if (c === 62) {
      hs.token(hs.pos, pos - hs.pos, H5Type.ATTR_NAME);
      hs.state = stateTagNameClose;
      hs.pos = pos;
      return true;
    }
    pos += 1;
  }
  hs.token(hs.pos, hs.len - hs.pos, H5Type.ATTR_NAME);
  hs.state = stateEof;
  hs.pos = hs.len;
  return true;
}

function stateAfterAttributeName(hs: H5State): boolean {
  const c = skipWhite(hs);
  if (c === EOF) return false;
  if (c === 47) {
    hs.pos += 1;
    return jump(hs, stateSelfClosingStartTag);
  }
  if (c === 61) {
    hs.pos += 1;
    return jump(hs, stateBeforeAttributeValue);
  }
  if (c === 62) return jump(hs, stateTagNameClose);
  return jump(hs, stateAttributeName);
}

function stateBeforeAttributeValue(hs: H5State): boolean {
  const c = skipWhite(hs);
  if (c === EOF) {
    hs.state = stateEof;
    return false;
  }
  if (c === 34) return jump(hs, stateAttributeValueDoubleQuote);
  if (c === 39) return jump(hs, stateAttributeValueSingleQuote);
  if (c === 96) return jump(hs, stateAttributeValueBackQuote); // IE's backquote
  return jump(hs, stateAttributeValueNoQuote);
}

function attributeValueQuote(hs: H5State, quote: string): boolean {
  // Started inside a value (pos 0) there is no opening quote to skip.
  if (hs.pos > 0) hs.pos += 1;
  const idx = hs.s.indexOf(quote, hs.pos);
  if (idx < 0) {
    hs.token(hs.pos, hs.len - hs.pos, H5Type.ATTR_VALUE);
    hs.state = stateEof;
  } else {
    hs.token(hs.pos, idx - hs.pos, H5Type.ATTR_VALUE);
    hs.state = stateAfterAttributeValueQuoted;
    hs.pos += hs.tokenLen + 1;
  }
  return true;
}

function stateAttributeValueDoubleQuote(hs: H5State): boolean {
  return attributeValueQuote(hs, '"');
}
function stateAttributeValueSingleQuote(hs: H5State): boolean {
  return attributeValueQuote(hs, "'");
}
function stateAttributeValueBackQuote(hs: H5State): boolean {
  return attributeValueQuote(hs, '`');
}

function stateAttributeValueNoQuote(hs: H5State): boolean {
  let pos = hs.pos;
  while (pos < hs.len) {
    const c = hs.s.charCodeAt(pos);
    if (isWhite(c)) {
      hs.token(hs.pos, pos - hs.pos, H5Type.ATTR_VALUE);
      hs.pos = pos + 1;
      hs.state = stateBeforeAttributeName;
      return true;
    } else if (c === 62) {
      hs.token(hs.pos, pos - hs.pos, H5Type.ATTR_VALUE);
      hs.pos = pos;
      hs.state = stateTagNameClose;
      return true;
    }
    pos += 1;
  }
  hs.state = stateEof;
  hs.token(hs.pos, hs.len - hs.pos, H5Type.ATTR_VALUE);
  return true;
}

function stateAfterAttributeValueQuoted(hs: H5State): boolean {
  if (hs.pos >= hs.len) return false;
  const c = hs.s.charCodeAt(hs.pos);
  if (isWhite(c)) {
    hs.pos += 1;
    return jump(hs, stateBeforeAttributeName);
  } else if (c === 47) {
    hs.pos += 1;
    return jump(hs, stateSelfClosingStartTag);
  } else if (c === 62) {
    hs.token(hs.pos, 1, H5Type.TAG_NAME_CLOSE);
    hs.pos += 1;
    hs.state = stateData;
    return true;
  }
  return jump(hs, stateBeforeAttributeName);
}

function stateSelfClosingStartTag(hs: H5State): boolean {
  if (hs.pos >= hs.len) return false;
  if (hs.s.charCodeAt(hs.pos) === 62) {
    hs.token(hs.pos - 1, 2, H5Type.TAG_NAME_SELFCLOSE);
    hs.state = stateData;
    hs.pos += 1;
    return true;
  }
  return jump(hs, stateBeforeAttributeName);
}

function stateBogusComment(hs: H5State): boolean {
  const idx = hs.s.indexOf('>', hs.pos);
  if (idx < 0) {
    hs.tokenStart = hs.pos;
    hs.tokenLen = hs.len - hs.pos;
    hs.pos = hs.len;
    hs.state = stateEof;
  } else {
    hs.tokenStart = hs.pos;
    hs.tokenLen = idx - hs.pos;
    hs.pos = idx + 1;
    hs.state = stateData;
  }
  hs.tokenType = H5Type.TAG_COMMENT;
  return true;
}

/** "<%" comments end at "%>". */
function stateBogusComment2(hs: H5State): boolean {
  let pos = hs.pos;
  for (;;) {
    const idx = hs.s.indexOf('%', pos);
    if (idx < 0 || idx + 1 >= hs.len) {
      hs.token(hs.pos, hs.len - hs.pos, H5Type.TAG_COMMENT);
      hs.pos = hs.len;
      hs.state = stateEof;
      return true;
    }
    if (hs.s.charCodeAt(idx + 1) !== 62) {
      pos = idx + 1;
      continue;
    }
    hs.token(hs.pos, idx - hs.pos, H5Type.TAG_COMMENT);
    hs.pos = idx + 2;
    hs.state = stateData;
    return true;
  }
}

function stateMarkupDeclarationOpen(hs: H5State): boolean {
  const remaining = hs.len - hs.pos;
  const s = hs.s;
  const p = hs.pos;
  if (remaining >= 7 && asciiUpper(s.substr(p, 7)) === 'DOCTYPE') {
    return jump(hs, stateDoctype);
  } else if (remaining >= 7 && s.substr(p, 7) === '[CDATA[') {
    hs.pos += 7;
    return jump(hs, stateCdata);
  } else if (remaining >= 2 && s[p] === '-' && s[p + 1] === '-') {
    hs.pos += 2;
    return jump(hs, stateComment);
  }
  return jump(hs, stateBogusComment);
}

function commentToEof(hs: H5State): boolean {
  hs.state = stateEof;
  hs.token(hs.pos, hs.len - hs.pos, H5Type.TAG_COMMENT);
  return true;
}

/** Comments end at "-->" or "--!>" (NULs between the dashes ignored), or at the end of input. */
function stateComment(hs: H5State): boolean {
  const s = hs.s;
  const end = hs.len;
  let pos = hs.pos;
  for (;;) {
    const idx = s.indexOf('-', pos);
    if (idx < 0 || idx > end - 3) return commentToEof(hs);
    let offset = 1;
    while (idx + offset < end && s.charCodeAt(idx + offset) === 0) offset += 1;
    if (idx + offset === end) return commentToEof(hs);
    let c = s.charCodeAt(idx + offset);
    if (c !== 45 && c !== 33) {
      pos = idx + 1;
      continue;
    }
    offset += 1;
    if (idx + offset === end) return commentToEof(hs);
    c = s.charCodeAt(idx + offset);
    if (c !== 62) {
      pos = idx + 1;
      continue;
    }
    offset += 1;
    hs.token(hs.pos, idx - hs.pos, H5Type.TAG_COMMENT);
    hs.pos = idx + offset;
    hs.state = stateData;
    return true;
  }
}

function stateCdata(hs: H5State): boolean {
  const s = hs.s;
  let pos = hs.pos;
  for (;;) {
    const idx = s.indexOf(']', pos);
    if (idx < 0 || idx > hs.len - 3) {
      hs.state = stateEof;
      hs.token(hs.pos, hs.len - hs.pos, H5Type.DATA_TEXT);
      return true;
    } else if (s[idx + 1] === ']' && s[idx + 2] === '>') {
      hs.state = stateData;
      hs.token(hs.pos, idx - hs.pos, H5Type.DATA_TEXT);
      hs.pos = idx + 3;
      return true;
    }
    pos = idx + 1;
  }
}

function stateDoctype(hs: H5State): boolean {
  hs.tokenStart = hs.pos;
  hs.tokenType = H5Type.DOCTYPE;
  const idx = hs.s.indexOf('>', hs.pos);
  if (idx < 0) {
    hs.state = stateEof;
    hs.tokenLen = hs.len - hs.pos;
  } else {
    hs.state = stateData;
    hs.tokenLen = idx - hs.pos;
    hs.pos = idx + 1;
  }
  return true;
}
