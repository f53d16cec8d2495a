import type { Cleanup } from "../app";
import { h } from "../dom";

export async function mountCircles(root: HTMLElement): Promise<Cleanup> {
  root.append(h("p", {}, "circles"));
  return () => undefined;
}
