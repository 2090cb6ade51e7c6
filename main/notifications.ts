// Native notifications from the policy's NotificationSpecs. One per tag: a job's "completed"
// closes its "started"; its progress updates one silent notification in place. Kept referenced
// until closed, so their click handlers survive GC.

import { Notification } from 'electron';
import type { NotificationSpec } from './policy.ts';
import { notificationOptions, replacement } from './notification-text.ts';

/** Open notifications remembered for replacement; older ones are forgotten (not closed). */
const MAX_TRACKED = 100;

export class NativeNotifications {
  readonly #byTag = new Map<string, { notification: Notification; spec: NotificationSpec; onClick: () => void }>();
  readonly #icon: string | undefined;

  constructor(options: { icon?: string } = {}) {
    this.#icon = options.icon;
  }

  /** False where the desktop has no notification service (the core then says so in the tray). */
  supported(): boolean {
    return Notification.isSupported();
  }

  show(spec: NotificationSpec, onClick: () => void): void {
    if (!Notification.isSupported()) return;
    const previous = this.#byTag.get(spec.tag);
    const action = replacement(previous?.spec, spec);
    if (action === 'update') {
      // Electron has no "update": its text properties are set on the shown object, which is not
      // shown again (show() would close it and pop up a new one).
      const options = notificationOptions(spec, process.platform, this.#icon);
      previous!.notification.title = options.title ?? '';
      previous!.notification.body = options.body ?? '';
      previous!.spec = spec;
      previous!.onClick = onClick;
      return;
    }
    this.#byTag.delete(spec.tag);
    previous?.notification.close();
    const n = new Notification(notificationOptions(spec, process.platform, this.#icon));
    const entry = { notification: n, spec, onClick };
    // The entry's latest click handler: an updated progress notification opens what it now shows.
    n.on('click', () => entry.onClick());
    n.on('close', () => {
      if (this.#byTag.get(spec.tag) === entry) this.#byTag.delete(spec.tag);
    });
    this.#byTag.set(spec.tag, entry);
    if (this.#byTag.size > MAX_TRACKED) this.#byTag.delete(this.#byTag.keys().next().value!);
    n.show();
  }
}
