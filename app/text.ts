// The only user of "i18n".
import { gettext } from "i18n";

export function t(msgid: string): string {
  return gettext(msgid);
}
