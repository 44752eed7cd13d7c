/**
 * The SQL tokenizer and grammar on their own: which context a fragment
 * breaks out of, and how folding and comments change what the grammar reads.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SqliDetector } from './index.js';
import { Lexer } from './lexer.js';
import { Kind } from './keywords.js';

const sqli = new SqliDetector();

describe('SQL tokenizer', () => {
  it('reads the rest of a string opened by the application in quote contexts', () => {
    const lexer = new Lexer();
    const n = lexer.run("abc' OR 'x'='x", 0x27);
    const kinds = lexer.tokens.slice(0, n).map((t) => t.kind);
    assert.deepEqual(kinds, [Kind.String, Kind.Logic, Kind.String, Kind.Compare, Kind.String]);
    assert.equal(lexer.tokens[0]!.text, 'abc');
    assert.equal(lexer.tokens[4]!.closed, false, 'the application closes the last string');
  });

  it('drops inline comments, runs MySQL executable comments, and keeps "--word" out of comments', () => {
    const lexer = new Lexer();
    const n = lexer.run('1/**/UNION/*!50000SELECT*/ 2 --x', 0);
    assert.deepEqual(
      lexer.tokens.slice(0, n).map((t) => t.text),
      ['1', 'union', 'select', '2', '-', '-', 'x'],
    );
  });

  it('bounds its work: a huge input is cut at a fixed number of tokens', () => {
    const lexer = new Lexer();
    lexer.run('1 OR '.repeat(100_000), 0);
    assert.equal(lexer.truncated, true);
  });
});

describe('SQL injection grammar', () => {
  const cases: Array<[string, 0 | 1 | 2]> = [
    ['1 OR 1=1', 1],
    ["x' OR 'a'='a", 1],
    ['1) AND (SELECT 1)=1', 1],
    ["'-'", 1],
    ['1--', 1],
    ['@@version', 1],
    ['1 ORDER BY 3--', 1],
    ['IIF(1=2,1,1/0)', 1],
    ["1;WAITFOR DELAY '0:0:5'--", 1],
    ['1 or 1', 2],
    ['admin\' #', 2],
    ['SELECT name FROM users', 2],
    ['2 OR 4 METAL BUTTONS', 0],
    ['salt and pepper', 0],
    ['dad and keychain and "loved by"', 2],
    ['PHILLIPKEEGAN-777-@HOTMAIL.COM', 0],
    ['1,1--', 0],
    ["JACK-O'-LANTERN?", 0],
    ['CASE FOR KINDLE WITH KEYBOARD', 0],
  ];
  for (const [value, level] of cases) {
    it(`${JSON.stringify(value)} is ${level === 0 ? 'not SQL injection' : `SQL injection at paranoia ${level}`}`, () => {
      assert.equal(sqli.check(value), level);
    });
  }
});
