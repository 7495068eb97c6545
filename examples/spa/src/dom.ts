/** A tiny DOM builder: text is always set as text, never parsed as HTML. */
type Child = Node | string | null | undefined | false;
type Attrs = Record<string, string | boolean | EventListener | undefined>;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    if (typeof v === "function") el.addEventListener(k.replace(/^on/, ""), v);
    else if (v === true) el.setAttribute(k, "");
    else el.setAttribute(k, v);
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) el.append(c);
  return el;
}

let fieldNo = 0;

/** A labelled input (label and input tied by id; hints tied by aria-describedby). */
export function field(
  label: string,
  attrs: Attrs & { name: string },
  hint?: string,
): { wrap: HTMLDivElement; input: HTMLInputElement } {
  const id = `f${++fieldNo}`;
  const hintId = hint ? `${id}-hint` : undefined;
  const input = h("input", { id, ...attrs, "aria-describedby": hintId });
  const wrap = h(
    "div",
    { class: "field" },
    h("label", { for: id }, label),
    input,
    hint ? h("p", { class: "hint", id: hintId }, hint) : null,
  );
  return { wrap, input };
}
