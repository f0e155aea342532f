# egressd's live capture addon (pcap_live.c): plain C over N-API, linked against libpcap.
# Build: cd src/capture/live/native && node-gyp rebuild  (needs libpcap-dev and Node's headers)
{
  "targets": [
    {
      "target_name": "pcap_live",
      "sources": ["pcap_live.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "defines": ["NAPI_VERSION=8"],
      "libraries": ["-lpcap"]
    }
  ]
}
