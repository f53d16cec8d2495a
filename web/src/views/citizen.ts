import type { Cleanup } from "../app";
import { h } from "../dom";

export async function mountCitizen(root: HTMLElement): Promise<Cleanup> {
  root.append(h("p", {}, "citizen"));
  return () => undefined;
}
