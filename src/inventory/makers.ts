/**
 * Short names for the makers a CCTV phase-out cares about, so that the IEEE registry's
 * "Hangzhou Hikvision Digital Technology Co.,Ltd.", a device's own "HIKVISION" and an
 * SADP reply all count as one maker: "Hikvision". Subsidiaries keep their own brand
 * (EZVIZ is Hikvision's, Imou is Dahua's): a council plans by brand and can add them up.
 *
 * `registry` is matched against IEEE organisation names (src/inventory/oui.ts), `text`
 * against what devices say about themselves (ONVIF manufacturer scope, DHCP host name and
 * vendor class, HTTP/RTSP realms). Registry patterns are anchored on the company names
 * seen in the registry, so that "Shanghai Dahua Scale Factory" is not Dahua and the many
 * Bosch subsidiaries that make car parts are not Bosch Security.
 */

interface MakerPattern {
  name: string;
  registry: RegExp;
  text: RegExp;
}

const MAKERS: MakerPattern[] = [
  { name: "Hikvision", registry: /hikvision/i, text: /hikvision/i },
  { name: "EZVIZ", registry: /\bezviz\b/i, text: /\bezviz\b/i },
  { name: "Dahua", registry: /\bdahua (technology|zhilian)/i, text: /\bdahua\b/i },
  { name: "Imou", registry: /\bhuacheng network\b/i, text: /\bimou\b/i },
  { name: "Uniview", registry: /\buniview\b/i, text: /\buniview\b/i },
  {
    name: "Hanwha",
    registry: /\bhanwha\b|\bsamsung techwin\b/i,
    text: /\bhanwha\b|\bwisenet\b|\bsamsung techwin\b/i,
  },
  { name: "Axis", registry: /^axis communications\b/i, text: /\baxis\b/i },
  { name: "Bosch", registry: /^bosch security\b/i, text: /\bbosch\b/i },
  { name: "Huawei", registry: /\bhuawei (technologies|device)\b/i, text: /\bhuawei\b/i },
  { name: "HiSilicon", registry: /\bhisilicon\b/i, text: /\bhisilicon\b/i },
  { name: "TP-Link", registry: /\btp-link\b/i, text: /\btp-?link\b|\btapo\b/i },
  { name: "Reolink", registry: /\breolink\b/i, text: /\breolink\b/i },
  { name: "Amcrest", registry: /\bamcrest\b/i, text: /\bamcrest\b/i },
  { name: "Lorex", registry: /^lorex technology\b/i, text: /\blorex\b/i },
  { name: "Tiandy", registry: /\btiandy\b/i, text: /\btiandy\b/i },
  { name: "Vivotek", registry: /\bvivotek\b/i, text: /\bvivotek\b/i },
  { name: "Mobotix", registry: /\bmobotix\b/i, text: /\bmobotix\b/i },
  { name: "Avigilon", registry: /\bavigilon\b/i, text: /\bavigilon\b/i },
  { name: "Milesight", registry: /\bmilesight\b/i, text: /\bmilesight\b/i },
  { name: "Sunell", registry: /\bsunell\b/i, text: /\bsunell\b/i },
  { name: "Jovision", registry: /\bjovision\b/i, text: /\bjovision\b/i },
  { name: "Ubiquiti", registry: /\bubiquiti\b/i, text: /\bubiquiti\b|\bunifi\b/i },
];

/** Short maker name for an IEEE organisation name, or null when it is not a known maker. */
export function makerFromRegistry(organisation: string): string | null {
  for (const m of MAKERS) if (m.registry.test(organisation)) return m.name;
  return null;
}

/** The known maker named in free text a device sent, or null. */
export function makerFromText(text: string): string | null {
  for (const m of MAKERS) if (m.text.test(text)) return m.name;
  return null;
}

/** Every short name this table knows, for documentation and tests. */
export const KNOWN_MAKERS: readonly string[] = MAKERS.map((m) => m.name);
