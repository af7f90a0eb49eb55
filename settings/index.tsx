// The settings page: renders only. What to show for which state lives in view-model.ts (tested);
// keys and defaults come from common/settings.ts. Buttons write a timestamp to their key; the
// companion notices the change and does the relay call, then writes the outcome back.
import { gettext } from "i18n";
import { KEYS, MORE_KEYS } from "../common/settings";
import {
  countryOptions,
  diagnosticsLine,
  fieldMessages,
  googleView,
  languageOptions,
  phoneStatusLine,
  previewLine,
  settingsErrorLine,
  thresholdOptions,
  xView,
} from "./view-model";

const t = (msgid: string) => gettext(msgid);

function press(props: SettingsComponentProps, key: string): void {
  props.settingsStorage.setItem(key, String(Date.now()));
}

function Problem(props: { text?: string }) {
  return props.text ? <Text italic>{props.text}</Text> : <Text>{""}</Text>;
}

function Page_(props: SettingsComponentProps) {
  const s = props.settings;
  const errors = fieldMessages(s, t);
  const x = xView(s, t);
  const google = googleView(s, t);
  const problems = settingsErrorLine(s, t);
  return (
    <Page>
      <Section title={<Text bold>{t("sec_phone")}</Text>} description={<Text>{t("sec_phone_desc")}</Text>}>
        <Select label={t("lbl_country")} settingsKey={KEYS.phoneCountry} options={countryOptions(t)} />
        <TextInput label={t("lbl_number")} type="tel" placeholder="+1 415 555 2671" settingsKey={KEYS.phoneNumber} />
        <Problem text={errors[KEYS.phoneNumber]} />
        <Button list label={t("btn_send_code")} onClick={() => press(props, KEYS.sendCode)} />
        <TextInput label={t("lbl_code")} type="number" placeholder="123456" settingsKey={KEYS.phoneCode} />
        <Problem text={errors[KEYS.phoneCode]} />
        <TextImageRow label={t("lbl_status")} sublabel={phoneStatusLine(s, t)} />
        <Select label={t("lbl_thresholds")} multiple settingsKey={KEYS.thresholds} options={thresholdOptions()} />
        <Problem text={errors[KEYS.thresholds]} />
        <Toggle settingsKey={KEYS.sms} label={t("lbl_sms")} />
        <Toggle settingsKey={KEYS.quietEnabled} label={t("lbl_quiet")} />
        <TextInput label={t("lbl_quiet_start")} placeholder="22:00" settingsKey={KEYS.quietStart} />
        <Problem text={errors[KEYS.quietStart]} />
        <TextInput label={t("lbl_quiet_end")} placeholder="07:00" settingsKey={KEYS.quietEnd} />
        <Problem text={errors[KEYS.quietEnd]} />
        <Toggle settingsKey={KEYS.silenceAlert} label={t("lbl_silence")} />
      </Section>
      <Section title={<Text bold>{t("sec_google")}</Text>} description={<Text>{t("sec_google_desc")}</Text>}>
        <Button list label={t(google.broken ? "btn_relink_google" : "btn_link_google")} onClick={() => press(props, MORE_KEYS.googleLink)} />
        <Text>{google.line}</Text>
        {google.url ? <Link source={google.url}>{t("lbl_open_google")}</Link> : <Text>{""}</Text>}
        {google.linked ? <Button list label={t("btn_unlink_google")} onClick={() => press(props, MORE_KEYS.googleUnlink)} /> : <Text>{""}</Text>}
      </Section>
      <Section title={<Text bold>{t("sec_x")}</Text>} description={<Text>{t("sec_x_desc")}</Text>}>
        <Button list label={t("btn_link_x")} onClick={() => press(props, KEYS.xLink)} />
        <Text>{x.line}</Text>
        {x.url ? <Link source={x.url}>{t("lbl_open_x")}</Link> : <Text>{""}</Text>}
        {x.linked ? <Button list label={t("btn_unlink_x")} onClick={() => press(props, MORE_KEYS.xUnlink)} /> : <Text>{""}</Text>}
        <Toggle settingsKey={KEYS.postActivity} label={t("lbl_post_activity")} />
        <Toggle settingsKey={KEYS.postSleep} label={t("lbl_post_sleep")} />
        <TextInput label={t("lbl_post_time")} placeholder="00:10" settingsKey={KEYS.summaryTime} />
        <Problem text={errors[KEYS.summaryTime]} />
        <Select label={t("lbl_language")} settingsKey={KEYS.language} options={languageOptions()} />
        <TextImageRow label={t("lbl_preview")} sublabel={previewLine(s, t)} />
      </Section>
      <Section title={<Text bold>{t("sec_watch")}</Text>}>
        <Toggle settingsKey={MORE_KEYS.clock24} label={t("lbl_clock24")} />
      </Section>
      <Section title={<Text bold>{t("sec_advanced")}</Text>}>
        <TextInput label={t("lbl_relay_url")} placeholder="https://relay.example.com" settingsKey={KEYS.relayUrl} />
        <Problem text={errors[KEYS.relayUrl]} />
        <Button list label={t("btn_forget")} onClick={() => press(props, KEYS.forgetMe)} />
        <Text>{t("lbl_forget_desc")}</Text>
        <TextImageRow label={t("lbl_diagnostics")} sublabel={diagnosticsLine(s, Date.now(), t)} />
        {problems ? <TextImageRow label={t("lbl_problems")} sublabel={problems} /> : <Text>{""}</Text>}
      </Section>
    </Page>
  );
}

registerSettingsPage(Page_);
