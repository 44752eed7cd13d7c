/**
 * The SQL tokenizer and grammar on their own: which context a fragment
 * breaks out of, and how folding and comments change what the grammar reads.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SqliDetector, hexLiteralText, rejoinSplitWords } from './index.js';
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

/** Each case: the value, and the paranoia level at which it counts (0: never). */
function table(title: string, cases: Array<[string, 0 | 1 | 2]>): void {
  describe(title, () => {
    for (const [value, level] of cases) {
      it(`${JSON.stringify(value)} is ${level === 0 ? 'not SQL injection' : `SQL injection at paranoia ${level}`}`, () => {
        assert.equal(sqli.check(value), level);
      });
    }
  });
}

table('tautologies: a thing compared with itself', [
  ['or a=a', 1],
  [' or a = a--', 1],
  [') or (a=a', 1],
  ['hi or x=x', 1],
  ["; or '1'='1'", 1],
  ['1 AND 2>=2', 1],
  ["x' || 'ab' LIKE 'ab", 1],
  ['either a or b=c', 0],
  ['a=a', 0],
  ['x=x and y', 0],
  ['salt or pepper', 0],
]);

table('"--" before punctuation is a comment in every dialect but MySQL', [
  ["' or 1 --'", 1],
  [' or 1 --"', 1],
  ['1 or 1=1 --+', 1],
  ['JOHN--INFANT', 0],
  ['1990--2000', 0],
  ['step 1 --> step 2', 0],
]);

table('string concatenation probes that leave the application\'s quote balanced', [
  ["a'+'b", 1],
  ["x'||'y", 1],
  ["X' - 'Y' - 0 = '1", 1],
  ['a"+"b', 1],
  // search syntax: quoted terms joined by + or -, or a symbol quoted between words
  ['RECLAIMED WOOD" + "SIGN" + "PRIMITIVE"', 2],
  ['" - "MAGAZINE"', 2],
  ['SMALL "+" SIGN', 2],
  ["rock 'n' roll", 0],
]);

table('the shortest ways out of a string', [
  ["admin' #", 1],
  ['admin" #', 1],
  ["admin'#", 1],
  ["admin' or '", 1],
  ["' or '' '", 1],
  ['" or "" "', 1],
  // a quote after a space opens a quotation; a hashtag or "#1" holds something
  ["BAMBOO CHARCOAL SOAP 1 '#", 2],
  ["select 'and'", 2],
  ["the kids' #1 fan", 2],
  ["FOO BAR'# BLAH", 2],
  ["'countdown calendar\" and \"disney:", 2],
]);

table('comparisons with a literal on the left, and conditional probes in a list', [
  ['1\nand current_user=foo', 1],
  ['1 and user()=1', 1],
  ['FOO,IIF(2510=9436,FOO,1/0)', 1],
  ['name,IF(1=1,SLEEP(5),0)', 1],
  ['if (res.statusCode >= 400)', 0],
  ["if (node.type == 'Literal')", 0],
  ['apples,oranges,pears', 0],
]);

table('dynamic SQL', [
  ["; execute immediate 'sel' || 'ect us' || 'er'", 1],
  ["1; EXECUTE IMMEDIATE 'DROP TABLE x'", 1],
  ['please execute immediate orders', 0],
]);

table('functions that are also words need the arguments they take', [
  ['sleep(5)', 1],
  ['1 and sleep(5)', 1],
  ['benchmark(1000000,md5(1))', 1],
  ['pg_sleep(__TIME__)--', 1],
  ['1 and version()', 1],
  ['Sleep (8 hours)', 0],
  ['version (2.0)', 0],
  ['user (admin)', 0],
  ['database (postgres)', 0],
  ['To run benchmark (requires node.js 6+):', 0],
]);

table('hex literals whose text is SQL injection', [
  ['0x77616974666F722064656C61792027303A303A313027', 1],
  ['0x730065006c0065006300740020004000400076006500720073006900' + '6f006e00', 1],
  ["DECLARE @S VARCHAR(4000);SET @S=CAST(0x73656c65637420404076657273696f6e AS VARCHAR(4000));EXEC(@S)", 1],
  ['0xdeadbeef', 0],
  ['0x52908400098527886E0F7030069857D2E4169EE7', 0],
  ['0x48656c6c6f20776f726c64', 0],
  ['colour 0xFFAA00', 0],
  // Decoys that are no text do not use up the literals read: "a0x" and "0xff" before the payload.
  ['a0x a0x a0x a0x 0xff 0xdeadbeef 0x77616974666F722064656C61792027303A303A313027', 1],
]);

table('keywords split by inline comments, for filters that strip comments', [
  ['uni/**/on sel/**/ect', 1],
  ['1 UN/**/ION SEL/**/ECT 1,2', 1],
  ['a/**/b', 0],
  ['/* a comment */ hello', 0],
]);

describe('SQL decoding helpers', () => {
  it('reads hex literals as ASCII or UTF-16LE text, and only printable text', () => {
    assert.equal(hexLiteralText('0x61646d696e', 0), 'admin');
    assert.equal(hexLiteralText('x=0X610064006D0069006E00', 2), 'admin');
    assert.equal(hexLiteralText('0xdeadbeef', 0), undefined);
    assert.equal(hexLiteralText('a0x61646d696e', 1), undefined, 'inside a word');
    assert.equal(hexLiteralText('0x616', 0), undefined, 'odd digits');
  });

  it('rejoins only words split by a comment, never an executable comment', () => {
    assert.equal(rejoinSplitWords('sel/**/ect'), 'select');
    assert.equal(rejoinSplitWords('sel/*x*/ect un/**/ion'), 'select union');
    assert.equal(rejoinSplitWords('a /**/ b'), 'a /**/ b');
    assert.equal(rejoinSplitWords('sel/*!50000ect*/'), 'sel/*!50000ect*/');
  });
});
