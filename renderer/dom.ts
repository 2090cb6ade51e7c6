// A tiny element builder. Text always becomes a Text node and attribute values go through
// setAttribute, so event data can never be parsed as HTML: there is no innerHTML anywhere in the UI.

export type Child = Node | string | number | null | undefined | false | Child[];

type Listener<E extends Event = Event> = (event: E) => void;

export interface Attrs {
  class?: string | undefined;
  /** Event listeners: `on: { click: fn }`. */
  on?: { [K in keyof HTMLElementEventMap]?: Listener<HTMLElementEventMap[K]> };
  /** Anything else: a string/number is set as is, true sets an empty attribute, false/null/undefined leaves it out. */
  [attribute: string]: string | number | boolean | null | undefined | Attrs['on'];
}

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs?: Attrs | null, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [name, value] of Object.entries(attrs)) {
      if (name === 'on') {
        for (const [type, fn] of Object.entries(value as Record<string, Listener>)) el.addEventListener(type, fn);
      } else if (value === true) el.setAttribute(name, '');
      else if (value !== false && value !== null && value !== undefined) el.setAttribute(name, String(value));
    }
  }
  append(el, children);
  return el;
}

export function append(parent: Node, children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(parent, child);
    else parent.appendChild(typeof child === 'object' ? child : document.createTextNode(String(child)));
  }
}

/** Replaces an element's content with text (never markup). */
export function setText(el: Element, text: string): void {
  if (el.textContent !== text) el.textContent = text;
}

/** Text only screen readers read. */
export function srOnly(text: string): HTMLSpanElement {
  return h('span', { class: 'sr-only' }, text);
}
