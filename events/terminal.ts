// Text from the network on its way to a terminal (the CLI's output, the server's log): control
// characters, C0 and C1 alike, are shown escaped, never sent raw. Pure: no Node, no DOM.
//
// Why C1 too: a terminal takes U+009B as CSI (ESC [) and U+009D as OSC, so `\u009b2J` clears the
// screen and `\u009d0;title\u0007` retitles the window, as ESC sequences do. A server or a proxy
// that is not ours may send them, whatever our own server refuses.

/** Every control character: C0, DEL and C1. */
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;
/** The same, but tab and newline stay (multi-line text). */
const CONTROL_KEEP_LINES = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;
/** What JSON.stringify leaves raw: DEL, C1, and the two line separators some terminals and JS parsers break on. */
const JSON_RAW = /[\u007f-\u009f\u2028\u2029]/g;

function escaped(char: string): string {
  return `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`;
}

/** One line for a terminal: every control character written as `\uXXXX`, line breaks included. */
export function terminalLine(text: string): string {
  return text.replace(CONTROL, escaped);
}

/** Text for a terminal that may keep its tabs and line breaks; every other control character written as `\uXXXX`. */
export function terminalText(text: string): string {
  return text.replace(CONTROL_KEEP_LINES, escaped);
}

/** JSON.stringify for a terminal: still valid JSON, with DEL, C1 and U+2028/U+2029 written as `\uXXXX` escapes. */
export function jsonLine(value: unknown): string {
  return JSON.stringify(value).replace(JSON_RAW, escaped);
}
