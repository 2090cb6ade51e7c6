// Native notifications from the policy's NotificationSpecs. One per tag: a job's "completed"
// closes its "started". Kept referenced until closed, so their click handlers survive GC.

import { Notification } from 'electron';
import type { NotificationSpec } from './policy.ts';
import { notificationOptions } from './notification-text.ts';

/** Open notifications remembered for replacement; older ones are forgotten (not closed). */
const MAX_TRACKED = 100;

export class NativeNotifications {
  readonly #byTag = new Map<string, Notification>();
  readonly #icon: string | undefined;

  constructor(options: { icon?: string } = {}) {
    this.#icon = options.icon;
  }

  show(spec: NotificationSpec, onClick: () => void): void {
    if (!Notification.isSupported()) return;
    const previous = this.#byTag.get(spec.tag);
    this.#byTag.delete(spec.tag);
    previous?.close();
    const n = new Notification(notificationOptions(spec, process.platform, this.#icon));
    n.on('click', onClick);
    n.on('close', () => {
      if (this.#byTag.get(spec.tag) === n) this.#byTag.delete(spec.tag);
    });
    this.#byTag.set(spec.tag, n);
    if (this.#byTag.size > MAX_TRACKED) this.#byTag.delete(this.#byTag.keys().next().value!);
    n.show();
  }
}
