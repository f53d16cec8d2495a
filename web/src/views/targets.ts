import type { Cleanup } from "../app";
import { h } from "../dom";

export async function mountTargets(root: HTMLElement): Promise<Cleanup> {
  root.append(h("p", {}, "targets"));
  return () => undefined;
}
