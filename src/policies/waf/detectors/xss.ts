/**
 * Cross-site scripting: reads the value the way an HTML parser would read it
 * in each place it could land (between tags, inside an attribute value with
 * or without quotes) and looks for what makes a browser run script: tags that
 * run or load code, event handler attributes, script URIs, CSS that runs
 * script, and JavaScript that reaches for cookies or runs code.
 *
 * Single passes with indexOf over a lower-cased copy; no regular expressions.
 */
import { Matcher } from '../../../lib/matcher.js';
import { signalGroup } from '../signals.js';
import { RULES, type Rule } from '../rules.js';

/** Tags that run script or load active content by themselves. */
const ACTIVE_TAGS: ReadonlySet<string> = new Set([
  'script',
  'iframe',
  'frame',
  'frameset',
  'object',
  'embed',
  'applet',
  'base',
  'meta',
  'isindex',
  'svg',
  'math',
  'xml',
  'import',
  'portal',
  'xss',
  'vmlframe',
  'link',
  'style',
  'form',
  'marquee',
  'bgsound',
  'layer',
  'ilayer',
  'handler',
  'listener',
  'animate',
  'set',
  'template',
  'noscript',
  'xmp',
]);

/** Ordinary HTML elements: a tag of these alone is only a paranoia-2 signal. */
const HTML_TAGS: ReadonlySet<string> = new Set([
  'a', 'abbr', 'address', 'area', 'article', 'aside', 'audio', 'b', 'bdi', 'bdo', 'blink', 'blockquote', 'body', 'br', 'button',
  'canvas', 'caption', 'center', 'cite', 'code', 'col', 'colgroup', 'data', 'datalist', 'dd', 'del', 'details', 'dfn', 'dialog',
  'div', 'dl', 'dt', 'em', 'fieldset', 'figcaption', 'figure', 'font', 'footer', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'head',
  'header', 'hr', 'html', 'i', 'image', 'img', 'input', 'ins', 'kbd', 'keygen', 'label', 'legend', 'li', 'main', 'map', 'mark',
  'menu', 'meter', 'nav', 'ol', 'optgroup', 'option', 'output', 'p', 'param', 'picture', 'plaintext', 'pre', 'progress', 'q',
  'rp', 'rt', 'ruby', 's', 'samp', 'section', 'select', 'slot', 'small', 'source', 'span', 'strike', 'strong', 'sub', 'summary',
  'sup', 'table', 'tbody', 'td', 'textarea', 'tfoot', 'th', 'thead', 'time', 'title', 'tr', 'track', 'tt', 'u', 'ul', 'var',
  'video', 'wbr', 'comment', 'listing', 'nobr', 'noembed', 'noframes', 'spacer', 'acronym', 'big',
]);

/** Event handler attributes browsers run (HTML, SVG, and old IE ones attack lists still use). */
const EVENT_HANDLERS: ReadonlySet<string> = new Set(
  (
    'abort afterprint afterscriptexecute animationcancel animationend animationiteration animationstart auxclick beforecopy ' +
    'beforecut beforeinput beforeprint beforescriptexecute beforetoggle beforeunload begin blur bounce canplay canplaythrough ' +
    'change click close contentvisibilityautostatechange contextmenu copy cuechange cut dblclick drag dragend dragenter dragexit ' +
    'dragleave dragover dragstart drop durationchange end ended error finish focus focusin focusout formdata fullscreenchange ' +
    'gotpointercapture hashchange input invalid keydown keypress keyup load loadeddata loadedmetadata loadend loadstart ' +
    'lostpointercapture message messageerror mousedown mouseenter mouseleave mousemove mouseout mouseover mouseup mousewheel ' +
    'mozfullscreenchange offline online pagehide pageshow paste pause play playing pointercancel pointerdown pointerenter ' +
    'pointerleave pointermove pointerout pointerover pointerrawupdate pointerup popstate progress ratechange readystatechange ' +
    'repeat reset resize scroll scrollend search securitypolicyviolation seeked seeking select selectionchange selectstart show ' +
    'start storage submit suspend timeupdate toggle touchcancel touchend touchmove touchstart transitioncancel transitionend ' +
    'transitionrun transitionstart unhandledrejection unload volumechange waiting webkitanimationend webkitanimationiteration ' +
    'webkitanimationstart webkittransitionend wheel activate beforeactivate beforedeactivate beforeeditfocus deactivate ' +
    'propertychange filterchange help losecapture move moveend movestart resizeend resizestart controlselect errorupdate ' +
    'datasetchanged dataavailable rowenter rowexit rowsdelete rowsinserted cellchange layoutcomplete'
  )
    .split(' ')
    .map((e) => 'on' + e),
);

/** JavaScript that only an injected script calls: the payload of nearly every XSS list. */
const JS_CALLS: readonly string[] = [
  'alert',
  'prompt',
  'confirm',
  'eval',
  'settimeout',
  'setinterval',
  'execscript',
  'fromcharcode',
  'atob',
  'msgbox',
  'showmodaldialog',
];

const JS_PROPERTIES: readonly string[] = [
  'document.cookie',
  'document.domain',
  'document.write',
  'document.location',
  'window.location',
  'location.href',
  'location.hash',
  '.innerhtml',
  '.outerhtml',
  'constructor.constructor',
  'document.body.append',
  'xmlhttprequest',
  '.parentnode.',
  'import(',
];

const CSS_THREATS = ['-moz-binding', 'behavior:', 'behaviour:', 'expression'];
const jsCalls = new Matcher(JS_CALLS);
const cssThreats = new Matcher(CSS_THREATS);
const JS_PROPERTY_SIGNAL = signalGroup(JS_PROPERTIES);
const JS_CALL_SIGNAL = signalGroup(JS_CALLS);
const CSS_SIGNAL = signalGroup(CSS_THREATS);

function isLetter(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a);
}

function isTagNameChar(c: number): boolean {
  return isLetter(c) || (c >= 0x30 && c <= 0x39) || c === 0x2d /* - */ || c === 0x3a /* : */;
}

function isSpaceLike(c: number): boolean {
  return c <= 0x20 || c === 0x2f /* / */;
}

/** Lower-cases and drops characters browsers ignore inside a URL scheme or tag name (tab, CR, LF, NUL). */
function lowerForScan(value: string, lower: string): string {
  let needsStrip = false;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 0x09 || c === 0x0a || c === 0x0d || c === 0) {
      needsStrip = true;
      break;
    }
  }
  if (!needsStrip) return lower;
  let out = '';
  for (let i = 0; i < lower.length; i++) {
    const c = lower.charCodeAt(i);
    if (c !== 0x09 && c !== 0x0a && c !== 0x0d && c !== 0) out += lower[i];
  }
  return out;
}

export function detectXss(value: string, lower: string, paranoia: number, signals: number): Rule | undefined {
  const s = lowerForScan(value, lower);
  let loose: Rule | undefined;

  // 1. Tags: <script, </script, <svg/onload=..., <img src=x onerror=...
  // Tags that share one ">" share the end of their attributes: "<a <a <a ... >" reads them once, not once per tag,
  // and the ">" is searched for again only past it (once per tag made "<a " repeated quadratic, issue 10).
  let close = -2;
  let readTo = -1;
  for (let lt = s.indexOf('<'); lt !== -1; lt = s.indexOf('<', lt + 1)) {
    let i = lt + 1;
    if (s.charCodeAt(i) === 0x2f) i++;
    const start = i;
    while (i < s.length && isTagNameChar(s.charCodeAt(i))) i++;
    if (i === start || !isLetter(s.charCodeAt(start))) continue;
    const name = s.slice(start, i);
    const after = i < s.length ? s.charCodeAt(i) : -1;
    // a tag name ends at whitespace, "/", ">", or the end of the value
    if (after !== -1 && !isSpaceLike(after) && after !== 0x3e && after !== 0x22 && after !== 0x27) continue;
    if (ACTIVE_TAGS.has(name)) return RULES.xssScriptTag;
    if (close !== -1 && close < i) close = s.indexOf('>', i);
    const end = close === -1 ? s.length : close;
    // an earlier tag read [its name's end, end) already, which holds this one's attributes: nothing new to find
    if (end > i && end !== readTo) {
      readTo = end;
      const found = attributeThreat(s.slice(i, end), true);
      if (found) return found;
    }
    if (!loose && paranoia >= 2 && HTML_TAGS.has(name)) loose = RULES.xssHtmlTag;
  }

  // 2. Breaking out of an attribute value: " onmouseover="alert(1)  or  x onerror=alert(1)
  if (s.includes('on')) {
    const found = attributeThreat(s, false);
    if (found === RULES.xssEventHandler) return found;
    if (found && paranoia >= 2) loose ??= found;
  }

  // 3. Script URIs: javascript:alert(1), data:text/html,...
  const uri = scriptUri(s);
  if (uri) return uri;

  // 4. CSS that runs script: -moz-binding, behavior:, and expression( after a ":"
  const css = (signals & CSS_SIGNAL) !== 0 && cssThreats.scan(s, (index, end) => {
    if (index < 3) return true;
    let j = end;
    while (j < s.length && s.charCodeAt(j) <= 0x20) j++;
    if (s.charCodeAt(j) !== 0x28) return false;
    let k = end - 11;
    while (k >= 0 && s.charCodeAt(k) <= 0x20) k--;
    return s.charCodeAt(k) === 0x3a;
  });
  if (css) return RULES.xssCss;

  // 5. JavaScript: alert(1), alert`1`, document.cookie
  if (signals & JS_PROPERTY_SIGNAL) return RULES.xssJsSink;
  let spaced = false;
  const call = (signals & JS_CALL_SIGNAL) !== 0 && jsCalls.scan(s, (index, end) => {
    const at = end - JS_CALLS[index]!.length;
    const before = at > 0 ? s.charCodeAt(at - 1) : -1;
    if (before !== -1 && (isLetter(before) || before === 0x5f)) return false;
    const direct = s.charCodeAt(end);
    if (direct === 0x28 /* ( */ || direct === 0x60 /* ` */) return true;
    let j = end;
    while (j < s.length && s.charCodeAt(j) <= 0x20) j++;
    if (j > end && s.charCodeAt(j) === 0x28) spaced = true;
    return false;
  });
  if (call) return RULES.xssJsSink;
  if (s.includes(']')) {
    if (globalBracketCall(s)) return RULES.xssJsSink;
  }
  if (spaced && paranoia >= 2) loose ??= RULES.xssJsCallLoose;
  return loose;
}

/** The objects that hold the global functions a payload calls: top['al'+'ert'](1) is alert(1). */
const GLOBAL_OBJECTS: ReadonlySet<string> = new Set(['top', 'window', 'self', 'parent', 'frames', 'globalthis', 'this', 'opener', 'content', 'document']);

/**
 * top['al'+'ert'](1), window["ev"+"al"](...), self[`alert`]`1`: a global object indexed by a string expression (so
 * the function's name can be split, encoded or concatenated past a word list) and called. The "]" is looked for
 * within 120 characters of each "[", which keeps the search linear.
 */
function globalBracketCall(s: string): boolean {
  for (let open = s.indexOf('['); open !== -1; open = s.indexOf('[', open + 1)) {
    let k = open - 1;
    while (k >= 0 && s.charCodeAt(k) <= 0x20) k--;
    const end = k + 1;
    while (k >= 0 && k >= end - 16 && isLetter(s.charCodeAt(k))) k--;
    if (k >= 0 && (isLetter(s.charCodeAt(k)) || (s.charCodeAt(k) >= 0x30 && s.charCodeAt(k) <= 0x39) || s.charCodeAt(k) === 0x5f || s.charCodeAt(k) === 0x24)) continue;
    if (!GLOBAL_OBJECTS.has(s.slice(k + 1, end))) continue;
    let quoted = false;
    let close = -1;
    for (let j = open + 1; j < s.length && j <= open + 120; j++) {
      const c = s.charCodeAt(j);
      if (c === 0x27 || c === 0x22 || c === 0x60) quoted = true;
      else if (c === 0x5d) {
        close = j;
        break;
      }
    }
    if (close === -1 || !quoted) continue;
    let j = close + 1;
    while (j < s.length && j <= close + 16 && s.charCodeAt(j) <= 0x20) j++;
    const after = s.charCodeAt(j);
    if (after === 0x28 || after === 0x60) return true;
  }
  return false;
}

/**
 * An event handler attribute: on<event> followed by optional whitespace and
 * "=". Inside a tag any on...= counts; outside one, only a known event name
 * after an attribute separator (quote, whitespace, slash) counts at
 * paranoia 1.
 */
function attributeThreat(s: string, inTag: boolean): Rule | undefined {
  let loose: Rule | undefined;
  for (let at = s.indexOf('on'); at !== -1; at = s.indexOf('on', at + 2)) {
    const before = at > 0 ? s.charCodeAt(at - 1) : -1;
    const separator = before === -1 || before <= 0x20 || before === 0x2f || before === 0x22 || before === 0x27 || before === 0x60 || before === 0x3b;
    if (!separator) continue;
    let j = at + 2;
    while (j < s.length && isLetter(s.charCodeAt(j))) j++;
    if (j - at < 5) continue;
    const name = s.slice(at, j);
    while (j < s.length && s.charCodeAt(j) <= 0x20) j++;
    if (s.charCodeAt(j) !== 0x3d /* = */ || s.charCodeAt(j + 1) === 0x3d) continue;
    if (inTag) return RULES.xssEventHandler;
    // outside a tag: a quote or whitespace must end the previous value first
    if (EVENT_HANDLERS.has(name) && (before === 0x22 || before === 0x27 || before === 0x60 || before <= 0x20 || before === 0x2f)) {
      const quoteBreak = before === 0x22 || before === 0x27 || before === 0x60 || lastNonSpace(s, at) === 0x22 || lastNonSpace(s, at) === 0x27;
      if (quoteBreak || at === 0 || hasScriptAfter(s, j + 1)) return RULES.xssEventHandler;
    }
    loose ??= RULES.xssHandlerLoose;
  }
  return loose;
}

function lastNonSpace(s: string, before: number): number {
  let k = before - 1;
  while (k >= 0 && (s.charCodeAt(k) <= 0x20 || s.charCodeAt(k) === 0x2f)) k--;
  return k >= 0 ? s.charCodeAt(k) : -1;
}

/** The attribute value looks like code: a call, a template literal, or an assignment. */
function hasScriptAfter(s: string, from: number): boolean {
  const end = Math.min(s.length, from + 80);
  for (let i = from; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x28 || c === 0x60) return true;
  }
  return false;
}

const SCRIPT_SCHEMES: readonly string[] = ['javascript', 'vbscript', 'livescript', 'mocha'];
const ACTIVE_DATA_TYPES: readonly string[] = ['text/html', 'image/svg', 'application/xhtml', 'text/xml', 'application/xml', 'text/javascript', 'application/javascript', 'application/x-'];

function scriptUri(s: string): Rule | undefined {
  for (let colon = s.indexOf(':'); colon !== -1; colon = s.indexOf(':', colon + 1)) {
    // the scheme before the colon, ignoring spaces browsers strip
    let k = colon - 1;
    while (k >= 0 && isLetter(s.charCodeAt(k))) k--;
    const scheme = s.slice(k + 1, colon);
    if (SCRIPT_SCHEMES.includes(scheme)) {
      const before = k >= 0 ? s.charCodeAt(k) : -1;
      const standalone = before === -1 || !isLetter(before);
      if (!standalone) continue;
      if (looksLikeCode(s, colon + 1)) return RULES.xssUri;
      // at the very start of a URL-valued field, any script: URI is an attack
      if (k < 0 || onlySpaceBefore(s, k)) {
        const rest = s.slice(colon + 1).trimStart();
        if (rest.length > 0 && !rest.includes(' ')) return RULES.xssUri;
      }
    } else if (scheme === 'data') {
      let j = colon + 1;
      while (j < s.length && s.charCodeAt(j) <= 0x20) j++;
      for (const type of ACTIVE_DATA_TYPES) if (s.startsWith(type, j)) return RULES.xssUri;
    }
  }
  return undefined;
}

function onlySpaceBefore(s: string, k: number): boolean {
  for (let i = 0; i <= k; i++) if (s.charCodeAt(i) > 0x20) return false;
  return true;
}

/** After "javascript:": an identifier chain then "(", "`" or "="; or "//", a quote, an escape. */
function looksLikeCode(s: string, from: number): boolean {
  let i = from;
  while (i < s.length && s.charCodeAt(i) <= 0x20) i++;
  const c = s.charCodeAt(i);
  if (c === 0x2f && s.charCodeAt(i + 1) === 0x2f) return true; // javascript://%0aalert(1)
  if (c === 0x22 || c === 0x27 || c === 0x60 || c === 0x25 || c === 0x5c || c === 0x28 || c === 0x5b || c === 0x7b) return true;
  const start = i;
  while (i < s.length) {
    const d = s.charCodeAt(i);
    if (isLetter(d) || (d >= 0x30 && d <= 0x39) || d === 0x5f || d === 0x24 || d === 0x2e) i++;
    else break;
  }
  if (i === start) return false;
  const d = s.charCodeAt(i);
  return d === 0x28 || d === 0x60 || d === 0x3d || d === 0x5b;
}
