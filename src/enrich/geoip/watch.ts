/**
 * Tells when database files change. Watches the directories, not the files: updaters
 * (geoipupdate, a deploy script) write a new file and rename it over the old one, which
 * a watch on the old inode would never see. Events are debounced so a file is read once
 * its writer is done, not half-way.
 */
import { type FSWatcher, realpathSync, watch } from "node:fs";
import { basename, dirname } from "node:path";

export class FileWatcher {
  private readonly watchers: FSWatcher[] = [];
  private timer: NodeJS.Timeout | null = null;

  constructor(
    paths: readonly string[],
    private readonly delayMs: number,
    private readonly onChange: () => void,
    onError: (err: Error) => void,
  ) {
    const byDir = new Map<string, Set<string>>();
    for (const path of paths) {
      const targets = [path];
      try {
        const real = realpathSync(path);
        if (real !== path) targets.push(real); // a symlink: its target may change instead
      } catch {
        // Gone already: the watch on its directory will see it come back.
      }
      for (const t of targets) {
        const names = byDir.get(dirname(t)) ?? new Set<string>();
        names.add(basename(t));
        byDir.set(dirname(t), names);
      }
    }
    for (const [dir, names] of byDir) {
      // Not persistent: watching alone must not keep the process alive.
      const w = watch(dir, { persistent: false }, (_event, filename) => {
        if (filename === null || names.has(filename.toString())) this.schedule();
      });
      w.on("error", onError);
      this.watchers.push(w);
    }
  }

  private schedule(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.onChange();
    }, this.delayMs);
    this.timer.unref();
  }

  close(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    for (const w of this.watchers) w.close();
    this.watchers.length = 0;
  }
}
