import type { Cleanup } from "../app";
import { h } from "../dom";

export async function mountLifelines(root: HTMLElement): Promise<Cleanup> {
  root.append(h("p", {}, "lifelines"));
  return () => undefined;
}
