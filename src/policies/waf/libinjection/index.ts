/**
 * libinjection's SQL injection and XSS detectors, ported to TypeScript from
 * libinjection 3.9.2 (the version ModSecurity ships; BSD-3-Clause, see
 * LICENSE here), for the SecLang operators @detectSQLi and @detectXSS. Inputs
 * are values as ModSecurity sees them: bytes, read as latin1.
 */
export { detectSQLi } from './sqli.js';
export { detectXSS } from './xss.js';
