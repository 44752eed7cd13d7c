/**
 * What the lexer calls each SQL word. The table covers the dialects attacks
 * target (MySQL, PostgreSQL, MSSQL, Oracle, SQLite); a word not here is a
 * name. Function names matter only when a "(" follows them.
 */

export const enum Kind {
  Number,
  String,
  Variable,
  Name,
  Function,
  Union,
  Select,
  /** A statement other than SELECT: DROP, INSERT, EXEC, SHUTDOWN... */
  Statement,
  /** AND, OR, XOR, &&, || */
  Logic,
  /** =, <>, LIKE, IN, IS, BETWEEN, REGEXP... */
  Compare,
  /** +, -, *, /, DIV, MOD, |, &, ^, <<, >>, ::, COLLATE */
  Arith,
  /** NOT, !, ~ */
  Not,
  LeftParen,
  RightParen,
  Comma,
  Semicolon,
  Dot,
  /** A comment that runs to the end of the input. */
  Comment,
  /** ORDER BY, GROUP BY, HAVING, LIMIT, OFFSET, PROCEDURE, WHERE, FROM, INTO OUTFILE */
  Clause,
  /** NULL, TRUE, FALSE, CURRENT_USER, \N... */
  Literal,
  Case,
  When,
  Then,
  Else,
  End,
  Exists,
  /** A table source or other keyword that only appears inside statements: TABLE, DATABASE, SET, VALUES, AS, ALL, DISTINCT, TOP... */
  Keyword,
  /** Anything SQL would not accept here: a stray "?", "{", "\" */
  Other,
}

const WORDS: Record<string, Kind> = {
  union: Kind.Union,
  intersect: Kind.Union,
  except: Kind.Union,
  select: Kind.Select,
  insert: Kind.Statement,
  update: Kind.Statement,
  delete: Kind.Statement,
  drop: Kind.Statement,
  create: Kind.Statement,
  alter: Kind.Statement,
  truncate: Kind.Statement,
  exec: Kind.Statement,
  execute: Kind.Statement,
  declare: Kind.Statement,
  shutdown: Kind.Statement,
  waitfor: Kind.Statement,
  grant: Kind.Statement,
  revoke: Kind.Statement,
  handler: Kind.Statement,
  rename: Kind.Statement,
  call: Kind.Statement,
  begin: Kind.Statement,
  and: Kind.Logic,
  or: Kind.Logic,
  xor: Kind.Logic,
  like: Kind.Compare,
  rlike: Kind.Compare,
  ilike: Kind.Compare,
  regexp: Kind.Compare,
  similar: Kind.Compare,
  glob: Kind.Compare,
  in: Kind.Compare,
  is: Kind.Compare,
  between: Kind.Compare,
  sounds: Kind.Compare,
  div: Kind.Arith,
  mod: Kind.Arith,
  collate: Kind.Arith,
  escape: Kind.Arith,
  not: Kind.Not,
  order: Kind.Clause,
  group: Kind.Clause,
  having: Kind.Clause,
  limit: Kind.Clause,
  offset: Kind.Clause,
  procedure: Kind.Clause,
  where: Kind.Clause,
  from: Kind.Clause,
  into: Kind.Clause,
  null: Kind.Literal,
  true: Kind.Literal,
  false: Kind.Literal,
  unknown: Kind.Literal,
  current_user: Kind.Literal,
  current_date: Kind.Literal,
  current_time: Kind.Literal,
  current_timestamp: Kind.Literal,
  session_user: Kind.Literal,
  system_user: Kind.Literal,
  localtime: Kind.Literal,
  localtimestamp: Kind.Literal,
  case: Kind.Case,
  when: Kind.When,
  then: Kind.Then,
  else: Kind.Else,
  end: Kind.End,
  exists: Kind.Exists,
  table: Kind.Keyword,
  database: Kind.Keyword,
  schema: Kind.Keyword,
  values: Kind.Keyword,
  set: Kind.Keyword,
  as: Kind.Keyword,
  all: Kind.Keyword,
  distinct: Kind.Keyword,
  top: Kind.Keyword,
  by: Kind.Keyword,
  outfile: Kind.Keyword,
  dumpfile: Kind.Keyword,
  delay: Kind.Keyword,
  join: Kind.Keyword,
  on: Kind.Keyword,
  asc: Kind.Keyword,
  desc: Kind.Keyword,
  analyse: Kind.Keyword,
};

const words: ReadonlyMap<string, Kind> = new Map(Object.entries(WORDS));

export function kindOfWord(lower: string): Kind {
  return words.get(lower) ?? Kind.Name;
}

/**
 * The dangerous functions no English word takes "(" after: their call
 * anywhere in a parameter is the attack, whatever surrounds it.
 */
export const UNAMBIGUOUS_FUNCTIONS: ReadonlySet<string> = new Set([
  'benchmark',
  'pg_sleep',
  'load_file',
  'extractvalue',
  'updatexml',
  'xp_cmdshell',
  'xp_dirtree',
  'sp_executesql',
  'sp_oacreate',
  'openrowset',
  'opendatasource',
  'dbms_pipe.receive_message',
  'dbms_lock.sleep',
  'utl_inaddr.get_host_name',
  'utl_inaddr.get_host_address',
  'utl_http.request',
  'ctxsys.drithsx.sn',
  'dbms_xmlgen.getxml',
  'gtid_subset',
  'name_const',
  'pg_read_file',
  'pg_ls_dir',
  'load_extension',
  'lo_import',
  'randomblob',
]);

/**
 * Functions whose call in a parameter is itself the attack: time delays,
 * file access, error-based extraction, server fingerprinting, command
 * execution. Any of these with "(" after it is enough, wherever it stands.
 */
export const DANGEROUS_FUNCTIONS: ReadonlySet<string> = new Set([
  ...UNAMBIGUOUS_FUNCTIONS,
  'sleep',
  'pg_sleep_for',
  'get_lock',
  'json_keys',
  'geometrycollection',
  'multipoint',
  'polygon',
  'linestring',
  'exp',
  'row_count',
  'make_set',
  'elt',
  'database',
  'version',
  'user',
  'schema',
  'current_user',
  'system_user',
  'session_user',
  'db_name',
  'host_name',
  'suser_name',
  'is_srvrolemember',
  'sqlite_version',
  'lo_export',
  'copy',
]);

/**
 * Functions every SQL dialect has: a call to one of these counts as SQL. A
 * call to an unknown name (void(1), f(x)) is parsed but proves nothing.
 */
export const SQL_FUNCTIONS: ReadonlySet<string> = new Set([
  'abs', 'ascii', 'avg', 'bin', 'bit_length', 'bitand', 'bitcount', 'bitstring_to_binary', 'cast', 'ceil', 'ceiling', 'char', 'char_length',
  'character_length', 'charindex', 'chr', 'coalesce', 'concat', 'concat_ws', 'conv', 'convert', 'count', 'crc32', 'curdate', 'curtime',
  'date', 'date_format', 'datediff', 'db_name', 'decode', 'elt', 'exp', 'extract', 'extractvalue', 'field', 'find_in_set', 'floor',
  'format', 'from_base64', 'generate_series', 'greatest', 'group_concat', 'hex', 'if', 'ifnull', 'iif', 'instr', 'isnull', 'json_extract',
  'lcase', 'least', 'left', 'len', 'length', 'like', 'glob', 'regexp', 'rlike', 'load_file', 'locate', 'lower', 'lpad', 'ltrim', 'make_set', 'max', 'md5',
  'mid', 'min', 'mod', 'nchar', 'now', 'nullif', 'nvl', 'oct', 'ord', 'pg_sleep', 'position', 'pow', 'power', 'quote', 'rand', 'random',
  'randomblob', 'repeat', 'replace', 'reverse', 'right', 'round', 'rpad', 'rtrim', 'sha', 'sha1', 'sha2', 'sleep', 'soundex', 'space',
  'sqrt', 'str', 'strcmp', 'string_agg', 'substr', 'substring', 'substring_index', 'sum', 'sysdate', 'to_base64', 'to_char', 'to_number',
  'trim', 'ucase', 'unhex', 'unicode', 'upper', 'utl_raw.cast_to_varchar2', 'uuid', 'version', 'database', 'user', 'schema', 'current_user',
  'system_user', 'session_user', 'updatexml', 'benchmark', 'xmltype', 'dbms_pipe.receive_message', 'waitfor', 'zeroblob', 'typeof',
  'sqlite_version', 'bitstring', 'cot', 'sin', 'cos', 'row', 'exists',
]);

/** Conditionals whose call with a comparison inside is a boolean probe by itself: IIF(1=2,1,1/0). */
export const SQL_CONDITIONALS: ReadonlySet<string> = new Set(['if', 'iif', 'ifnull', 'nullif', 'decode', 'elt', 'make_set', 'case']);

/** Relations only an attacker asks for: catalog tables that list every table and column. */
export const CATALOG_NAMES: readonly string[] = [
  'information_schema',
  'mysql.user',
  'mysql.db',
  'sysobjects',
  'syscolumns',
  'sys.objects',
  'sys.tables',
  'master..',
  'pg_catalog',
  'pg_shadow',
  'pg_user',
  'sqlite_master',
  'all_tables',
  'user_tables',
  'dba_users',
  'rdb$database',
  'msysobjects',
  'sysmaster:',
  'sysibm.',
  'sysusers',
  'dual',
];
