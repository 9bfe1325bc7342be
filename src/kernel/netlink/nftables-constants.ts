// nf_tables netlink constants, with the kernel's names
// (include/uapi/linux/netfilter/nf_tables.h, nfnetlink.h). Every integer
// attribute of nf_tables is big-endian on the wire.

export const NETLINK_NETFILTER = 12;
export const NFNETLINK_V0 = 0;
export const NFNL_SUBSYS_NFTABLES = 10;
export const NFNL_MSG_BATCH_BEGIN = 0x10; // NLMSG_MIN_TYPE
export const NFNL_MSG_BATCH_END = 0x11;

export const NFPROTO_IPV4 = 2;
export const NFPROTO_IPV6 = 10;

// enum nf_tables_msg_types
export const NFT_MSG_NEWCHAIN = 3;
export const NFT_MSG_DELCHAIN = 5;
export const NFT_MSG_NEWRULE = 6;
export const NFT_MSG_DELRULE = 8;
export const NFT_MSG_NEWSET = 9;
export const NFT_MSG_DELSET = 11;
export const NFT_MSG_NEWSETELEM = 12;
export const NFT_MSG_DELSETELEM = 14;

export const NFTA_LIST_ELEM = 1;

export const NFTA_CHAIN_TABLE = 1;
export const NFTA_CHAIN_NAME = 3;

export const NFTA_RULE_TABLE = 1;
export const NFTA_RULE_CHAIN = 2;
export const NFTA_RULE_EXPRESSIONS = 4;
export const NFTA_RULE_USERDATA = 7;

export const NFTA_EXPR_NAME = 1;
export const NFTA_EXPR_DATA = 2;

export const NFTA_DATA_VALUE = 1;
export const NFTA_DATA_VERDICT = 2;
export const NFTA_VERDICT_CODE = 1;
export const NFTA_VERDICT_CHAIN = 2;

// Verdicts: netfilter's NF_DROP/NF_ACCEPT and nf_tables' own (negative) codes.
export const NF_DROP = 0;
export const NF_ACCEPT = 1;
export const NFT_JUMP = -3;
export const NFT_GOTO = -4;
export const NFT_RETURN = -5;

// Registers: 0 is the verdict; 1..4 are the 16-byte data registers.
export const NFT_REG_VERDICT = 0;
export const NFT_REG_1 = 1;
export const NFT_REG_2 = 2;
/** The 4-byte registers overlay the 16-byte ones: NFT_REG32_00 is the first word of NFT_REG_1. */
export const NFT_REG32_00 = 8;

export const NFTA_IMMEDIATE_DREG = 1;
export const NFTA_IMMEDIATE_DATA = 2;

export const NFTA_CMP_SREG = 1;
export const NFTA_CMP_OP = 2;
export const NFTA_CMP_DATA = 3;
export const NFT_CMP_EQ = 0;
export const NFT_CMP_NEQ = 1;

export const NFTA_PAYLOAD_DREG = 1;
export const NFTA_PAYLOAD_BASE = 2;
export const NFTA_PAYLOAD_OFFSET = 3;
export const NFTA_PAYLOAD_LEN = 4;
export const NFT_PAYLOAD_NETWORK_HEADER = 1;
export const NFT_PAYLOAD_TRANSPORT_HEADER = 2;

export const NFTA_META_DREG = 1;
export const NFTA_META_KEY = 2;
export const NFT_META_L4PROTO = 16;

export const NFTA_BITWISE_SREG = 1;
export const NFTA_BITWISE_DREG = 2;
export const NFTA_BITWISE_LEN = 3;
export const NFTA_BITWISE_MASK = 4;
export const NFTA_BITWISE_XOR = 5;

export const NFTA_LOOKUP_SET = 1;
export const NFTA_LOOKUP_SREG = 2;
export const NFTA_LOOKUP_DREG = 3;

export const NFTA_DYNSET_SET_NAME = 1;
export const NFTA_DYNSET_OP = 3;
export const NFTA_DYNSET_SREG_KEY = 4;
export const NFT_DYNSET_OP_UPDATE = 1;

export const NFTA_NG_DREG = 1;
export const NFTA_NG_MODULUS = 2;
export const NFTA_NG_TYPE = 3;
export const NFT_NG_RANDOM = 1;

export const NFTA_NAT_TYPE = 1;
export const NFTA_NAT_FAMILY = 2;
export const NFTA_NAT_REG_ADDR_MIN = 3;
export const NFTA_NAT_REG_PROTO_MIN = 5;
export const NFTA_NAT_FLAGS = 7;
export const NFT_NAT_DNAT = 1;
export const NF_NAT_RANGE_PROTO_SPECIFIED = 2;

export const NFTA_FIB_DREG = 1;
export const NFTA_FIB_RESULT = 2;
export const NFTA_FIB_FLAGS = 3;
export const NFT_FIB_RESULT_ADDRTYPE = 3;
export const NFTA_FIB_F_SADDR = 1;
export const NFTA_FIB_F_DADDR = 2;
export const RTN_LOCAL = 2;

export const NFTA_SET_TABLE = 1;
export const NFTA_SET_NAME = 2;
export const NFTA_SET_FLAGS = 3;
export const NFTA_SET_KEY_TYPE = 4;
export const NFTA_SET_KEY_LEN = 5;
export const NFTA_SET_DATA_TYPE = 6;
export const NFTA_SET_DATA_LEN = 7;
export const NFTA_SET_ID = 10;
export const NFTA_SET_TIMEOUT = 11;
export const NFTA_SET_USERDATA = 13;
export const NFT_SET_MAP = 0x08;
export const NFT_SET_TIMEOUT = 0x10;
export const NFT_SET_EVAL = 0x20;

export const NFTA_SET_ELEM_LIST_TABLE = 1;
export const NFTA_SET_ELEM_LIST_SET = 2;
export const NFTA_SET_ELEM_LIST_ELEMENTS = 3;
export const NFTA_SET_ELEM_KEY = 1;
export const NFTA_SET_ELEM_DATA = 2;
export const NFTA_SET_ELEM_USERDATA = 6;

// libnftnl's user data TLVs for comments (sets' own: nftables-userdata.ts).
export const NFTNL_UDATA_RULE_COMMENT = 0;
export const NFTNL_UDATA_SET_ELEM_COMMENT = 0;
/** nft's datatype ids (enum datatypes); a concatenation is `(a << TYPE_BITS) | b`. */
export const NFT_TYPE_INTEGER = 4;
export const NFT_TYPE_IPADDR = 7;
export const NFT_TYPE_IP6ADDR = 8;
export const NFT_TYPE_INET_SERVICE = 13;
export const NFT_TYPE_BITS = 6;

// Read-back (dumps) of the periodic drift check.
export const NFT_MSG_GETCHAIN = 4;
export const NFT_MSG_GETRULE = 7;
export const NFT_MSG_GETSETELEM = 13;
/** The ruleset's generation: every committed nf_tables transaction (nft, iptables-nft, ours) increments it. */
export const NFT_MSG_GETGEN = 16;
export const NFTA_GEN_ID = 1;
