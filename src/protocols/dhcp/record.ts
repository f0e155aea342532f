/**
 * The DHCP record: one BOOTP/DHCPv4 message (RFC 2131, options from RFC 2132 and later).
 * A device's first DHCP messages tell who it is before it says anything else: its MAC
 * (chaddr), the host name it was given at the factory, its DHCP client software (vendor
 * class) and the options it asks for (a fingerprint of that client). Broadcast messages
 * come from 0.0.0.0, so the device is the chaddr, not the packet's source address.
 *
 * Header fields keep their RFC 2131 names (xid, ciaddr, yiaddr, siaddr, giaddr, chaddr);
 * options use Zeek dhcp.log names where Zeek logs that option (host_name, domain,
 * requested_addr, lease_time, client_fqdn, and `mac` for an Ethernet chaddr) and short
 * RFC 2132 names otherwise (vendor_class, param_list, client_id, server_id, message).
 */

/** Anomalies: a named problem with the message, as the other parsers report them. */
export const DHCP_ANOMALIES = [
  /** Shorter than the fixed part and the magic cookie (240 bytes): no record. */
  "dhcp_truncated",
  /** op is neither 1 (BOOTREQUEST) nor 2 (BOOTREPLY): no record. */
  "dhcp_bad_op",
  /** No magic cookie 63 82 53 63 at byte 236: plain BOOTP, not DHCP: no record. */
  "dhcp_bad_cookie",
  /** Hardware address length above 16 (the chaddr field's size): only 16 bytes are read. */
  "dhcp_bad_hlen",
  /** An option's length runs past the end of its field: options from there on are lost. */
  "dhcp_option_overrun",
  /** An options field (or an overloaded sname/file) ends without the end option (255). */
  "dhcp_no_end",
  /** Option 52 with a value other than 1-3, or option 52 inside an overloaded sname/file. */
  "dhcp_bad_overload",
  /** A fixed-size option (50, 51, 52, 53, 54) of the wrong length, or option 81 under 3 bytes. */
  "dhcp_bad_option_length",
] as const;

export type DhcpAnomaly = (typeof DHCP_ANOMALIES)[number];

export interface DhcpRecord {
  /** 1 BOOTREQUEST (from a client), 2 BOOTREPLY (from a server). */
  op: 1 | 2;
  /** Hardware type (1 Ethernet) and how many chaddr bytes count. */
  htype: number;
  hlen: number;
  /** Relay agents between client and server. */
  hops: number;
  /** Transaction id: a client's DISCOVER, OFFER, REQUEST and ACK share it. */
  xid: number;
  /** Seconds since the client began acquiring or renewing. */
  secs: number;
  /** The client asked for broadcast replies (flags bit 15). */
  broadcast: boolean;
  /** Client hardware address: the first hlen bytes of chaddr as lowercase hex pairs joined by ':'. */
  chaddr: string;
  /** chaddr as a MAC in ECS format (AA-BB-CC-DD-EE-FF) when htype is 1 and hlen 6. */
  mac?: string;
  /** Header addresses, absent when 0.0.0.0: the client's current, the assigned, next server, relay. */
  ciaddr?: string;
  yiaddr?: string;
  siaddr?: string;
  giaddr?: string;
  /** Server host name and boot file, when those fields are not overloaded with options. */
  sname?: string;
  file?: string;

  /** Option 53: 1 DISCOVER, 2 OFFER, 3 REQUEST, 5 ACK, ... Absent in plain BOOTP-style messages. */
  message_type?: number;
  message_type_name?: string;
  /** Option 12. */
  host_name?: string;
  /** Option 15. */
  domain?: string;
  /** Option 50. */
  requested_addr?: string;
  /** Option 51, seconds. */
  lease_time?: number;
  /** Option 54: the server that made (or is asked about) the offer. */
  server_id?: string;
  /** Option 55 as "1,3,6,15,...": which options the client asks for, in its order. */
  param_list?: string;
  /** Option 56: an error text (NAK, DECLINE). */
  message?: string;
  /** Option 60: the client software ("udhcp 1.35.0", "MSFT 5.0", "dhcpcd-9.4.1:..."). */
  vendor_class?: string;
  /** Option 61: type byte then identifier, lowercase hex pairs joined by ':'. */
  client_id?: string;
  /** Option 81: the name the client wants DNS to carry. */
  client_fqdn?: string;

  /** Problems met while reading the options; the fields above hold what came before them. */
  anomalies?: DhcpAnomaly[];
}

export type DhcpResult =
  | { record: DhcpRecord; anomaly?: undefined }
  | { record?: undefined; anomaly: DhcpAnomaly };
