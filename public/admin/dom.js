// @ts-check
/*
 * The page's DOM helpers. Every node is built with createElement and every string becomes a text node or
 * textContent: data from the API (a customer name, a stored request, an error text) is never parsed as HTML.
 */

/**
 * What el() sets on a new element: its writable properties, `text` (its textContent) and `dataset` entries.
 * @template {keyof HTMLElementTagNameMap} K
 * @typedef {Partial<Omit<HTMLElementTagNameMap[K], "dataset" | "style" | "innerHTML" | "outerHTML">> & { text?: string, dataset?: Record<string, string> }} Props
 */

/** @typedef {Node | string | null | undefined} Child */

/**
 * el("td", { className: "x" }, ["text", node]): strings become text nodes, never markup.
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Props<K> | null} [props]
 * @param {Child[]} [children]
 * @returns {HTMLElementTagNameMap[K]}
 */
export function el(tag, props, children) {
  const node = document.createElement(tag);
  if (props) {
    const { text, dataset, ...rest } = props;
    Object.assign(node, rest);
    if (text !== undefined) node.textContent = text;
    if (dataset) for (const [key, value] of Object.entries(dataset)) node.dataset[key] = value;
  }
  for (const child of children ?? []) {
    if (child === null || child === undefined) continue;
    node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
  }
  return node;
}

/**
 * @template {Node} N
 * @param {N} node
 * @returns {N}
 */
export function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
  return node;
}

/**
 * @param {HTMLElement} node
 * @param {boolean} visible
 */
export function show(node, visible) {
  node.hidden = !visible;
}

/**
 * The element of that id; the page's own markup has it, so a missing one is a bug worth an error.
 * @param {string} id
 * @returns {HTMLElement}
 */
export function byId(id) {
  const node = document.getElementById(id);
  if (!node) throw new Error("the page has no #" + id);
  return node;
}

/**
 * A form of the page's own markup, by id.
 * @param {string} id
 * @returns {HTMLFormElement}
 */
export function formById(id) {
  const node = byId(id);
  if (!(node instanceof HTMLFormElement)) throw new Error("#" + id + " is not a form");
  return node;
}

/**
 * @template R
 * @typedef {[heading: string, cell: (row: R) => Child]} Column
 */

/**
 * A table of rows, or "Nothing to show."; decorate(row, tr) adds classes and handlers.
 * @template R
 * @param {R[]} rows
 * @param {Column<R>[]} columns
 * @param {(row: R, tr: HTMLTableRowElement) => void} [decorate]
 * @returns {HTMLElement}
 */
export function table(rows, columns, decorate) {
  if (!rows.length) return el("p", { className: "empty", text: "Nothing to show." });
  const head = el("tr", null, columns.map(([heading]) => el("th", { text: heading })));
  const body = rows.map((row) => {
    const tr = el("tr", null, columns.map(([, cell]) => el("td", null, [cell(row)])));
    if (decorate) decorate(row, tr);
    return tr;
  });
  return el("table", null, [el("thead", null, [head]), el("tbody", null, body)]);
}

/**
 * The values of a form's named fields, trimmed.
 * @param {HTMLFormElement} form
 * @returns {Record<string, string>}
 */
export function formValues(form) {
  /** @type {Record<string, string>} */
  const values = {};
  new FormData(form).forEach((value, key) => {
    if (typeof value === "string") values[key] = value.trim();
  });
  return values;
}
