// Phone numbers: parsing to E.164 with full metadata, country allow-list, masking for display and logs.
import { createHmac } from "node:crypto";
import { parsePhoneNumberFromString } from "libphonenumber-js/max";
import type { CountryCode, PhoneNumberType } from "libphonenumber-js/max";
import { Problem } from "../http/problem.ts";

export function parsePhone(number: string | number, country: string | undefined, allowed: string[]): string {
  if (typeof number !== "string") {
    throw new Problem(422, "invalid_phone", "Send the number as a JSON string in international (E.164) form, e.g. \"+14155552671\", not as a JSON number.");
  }
  const parsed = parsePhoneNumberFromString(number, country ? (country.toUpperCase() as CountryCode) : undefined);
  if (!parsed || !parsed.isValid()) {
    throw new Problem(422, "invalid_phone", "That is not a valid phone number. Use the international form, e.g. +14155552671, or give the country.");
  }
  if (!parsed.country || !allowed.includes(parsed.country)) {
    throw new Problem(
      422,
      "country_not_allowed",
      `This relay sends SMS only to numbers in ${allowed.join(", ")}${parsed.country ? `; this number is in ${parsed.country}` : ""}.`,
    );
  }
  const type = parsed.getType();
  if (type === undefined || REFUSED_TYPES.has(type)) {
    throw new Problem(
      422,
      "number_type_not_allowed",
      "This relay sends SMS only to mobile numbers; premium-rate, shared-cost, toll-free, VoIP, personal, pager and similar numbers are refused.",
    );
  }
  return parsed.number;
}

/**
 * Number ranges that SMS pumping (artificially inflated traffic) cashes in on, or that cannot take an
 * SMS at all. Mobile, and FIXED_LINE_OR_MOBILE (the US and Canada do not tell them apart), pass;
 * so does a plain landline, which some carriers read out by voice and which pays no one per message.
 */
const REFUSED_TYPES = new Set<PhoneNumberType>(["PREMIUM_RATE", "SHARED_COST", "TOLL_FREE", "VOIP", "UAN", "PERSONAL_NUMBER", "PAGER", "VOICEMAIL"]);

/** "+1 •••• •• 71": the calling code and the last two digits, nothing else. */
export function maskPhone(e164: string): string {
  const parsed = parsePhoneNumberFromString(e164);
  const cc = parsed?.countryCallingCode ?? "";
  return `+${cc} •••• •• ${e164.slice(-2)}`;
}

/** A key for counters and rate limits that never stores the number itself. */
export function numberKey(secret: Buffer, e164: string): string {
  return createHmac("sha256", secret).update("number:" + e164).digest("base64url").slice(0, 22);
}
