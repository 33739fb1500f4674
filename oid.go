package pgpipe

// This file names the OIDs of PostgreSQL's built-in types. They are fixed in
// the server's catalog (src/include/catalog/pg_type.dat) and identical in
// every release (xid8, pg_snapshot and regcollation exist since PostgreSQL 13
// only); types created by extensions (citext, hstore, PostGIS), enums and
// domains get their OIDs at CREATE time and are not here. The values were
// read from pg_type of PostgreSQL 15. A domain column is described with the
// OID of its base type, so it decodes like that type.

// Base types.
const (
	oidBool          uint32 = 16   // bool
	oidBytea         uint32 = 17   // bytea
	oidChar          uint32 = 18   // "char": one byte, not character(n)
	oidName          uint32 = 19   // name
	oidInt8          uint32 = 20   // int8
	oidInt2          uint32 = 21   // int2
	oidInt2Vector    uint32 = 22   // int2vector
	oidInt4          uint32 = 23   // int4
	oidRegproc       uint32 = 24   // regproc
	oidText          uint32 = 25   // text
	oidOID           uint32 = 26   // oid
	oidTID           uint32 = 27   // tid
	oidXID           uint32 = 28   // xid
	oidCID           uint32 = 29   // cid
	oidOIDVector     uint32 = 30   // oidvector
	oidJSON          uint32 = 114  // json
	oidXML           uint32 = 142  // xml
	oidPoint         uint32 = 600  // point
	oidLseg          uint32 = 601  // lseg
	oidPath          uint32 = 602  // path
	oidBox           uint32 = 603  // box
	oidPolygon       uint32 = 604  // polygon
	oidLine          uint32 = 628  // line
	oidCidr          uint32 = 650  // cidr
	oidFloat4        uint32 = 700  // float4
	oidFloat8        uint32 = 701  // float8
	oidUnknown       uint32 = 705  // unknown: an untyped literal such as SELECT 'x'
	oidCircle        uint32 = 718  // circle
	oidMacaddr8      uint32 = 774  // macaddr8
	oidMoney         uint32 = 790  // money
	oidMacaddr       uint32 = 829  // macaddr
	oidInet          uint32 = 869  // inet
	oidACLItem       uint32 = 1033 // aclitem
	oidBPChar        uint32 = 1042 // character(n), blank-padded
	oidVarchar       uint32 = 1043 // character varying(n)
	oidDate          uint32 = 1082 // date
	oidTime          uint32 = 1083 // time
	oidTimestamp     uint32 = 1114 // timestamp
	oidTimestamptz   uint32 = 1184 // timestamptz
	oidInterval      uint32 = 1186 // interval
	oidTimetz        uint32 = 1266 // timetz
	oidBit           uint32 = 1560 // bit
	oidVarbit        uint32 = 1562 // varbit
	oidNumeric       uint32 = 1700 // numeric
	oidRefcursor     uint32 = 1790 // refcursor
	oidRegprocedure  uint32 = 2202 // regprocedure
	oidRegoper       uint32 = 2203 // regoper
	oidRegoperator   uint32 = 2204 // regoperator
	oidRegclass      uint32 = 2205 // regclass
	oidRegtype       uint32 = 2206 // regtype
	oidRecord        uint32 = 2249 // record: an anonymous row such as SELECT (1, 2)
	oidCString       uint32 = 2275 // cstring
	oidVoid          uint32 = 2278 // void: the result of a function returning nothing
	oidUUID          uint32 = 2950 // uuid
	oidTxidSnapshot  uint32 = 2970 // txid_snapshot
	oidPgLSN         uint32 = 3220 // pg_lsn
	oidTSVector      uint32 = 3614 // tsvector
	oidTSQuery       uint32 = 3615 // tsquery
	oidRegconfig     uint32 = 3734 // regconfig
	oidRegdictionary uint32 = 3769 // regdictionary
	oidJSONB         uint32 = 3802 // jsonb
	oidInt4Range     uint32 = 3904 // int4range
	oidNumRange      uint32 = 3906 // numrange
	oidTSRange       uint32 = 3908 // tsrange
	oidTSTZRange     uint32 = 3910 // tstzrange
	oidDateRange     uint32 = 3912 // daterange
	oidInt8Range     uint32 = 3926 // int8range
	oidJSONPath      uint32 = 4072 // jsonpath
	oidRegnamespace  uint32 = 4089 // regnamespace
	oidRegrole       uint32 = 4096 // regrole
	oidRegcollation  uint32 = 4191 // regcollation
	oidPgSnapshot    uint32 = 5038 // pg_snapshot
	oidXID8          uint32 = 5069 // xid8
)

// Array types: oidXArray is the OID of X[] (typarray of X).
const (
	oidBoolArray          uint32 = 1000 // _bool
	oidByteaArray         uint32 = 1001 // _bytea
	oidCharArray          uint32 = 1002 // _char
	oidNameArray          uint32 = 1003 // _name
	oidInt8Array          uint32 = 1016 // _int8
	oidInt2Array          uint32 = 1005 // _int2
	oidInt2VectorArray    uint32 = 1006 // _int2vector
	oidInt4Array          uint32 = 1007 // _int4
	oidRegprocArray       uint32 = 1008 // _regproc
	oidTextArray          uint32 = 1009 // _text
	oidOIDArray           uint32 = 1028 // _oid
	oidTIDArray           uint32 = 1010 // _tid
	oidXIDArray           uint32 = 1011 // _xid
	oidCIDArray           uint32 = 1012 // _cid
	oidOIDVectorArray     uint32 = 1013 // _oidvector
	oidJSONArray          uint32 = 199  // _json
	oidXMLArray           uint32 = 143  // _xml
	oidPointArray         uint32 = 1017 // _point
	oidLsegArray          uint32 = 1018 // _lseg
	oidPathArray          uint32 = 1019 // _path
	oidBoxArray           uint32 = 1020 // _box
	oidPolygonArray       uint32 = 1027 // _polygon
	oidLineArray          uint32 = 629  // _line
	oidCidrArray          uint32 = 651  // _cidr
	oidFloat4Array        uint32 = 1021 // _float4
	oidFloat8Array        uint32 = 1022 // _float8
	oidCircleArray        uint32 = 719  // _circle
	oidMacaddr8Array      uint32 = 775  // _macaddr8
	oidMoneyArray         uint32 = 791  // _money
	oidMacaddrArray       uint32 = 1040 // _macaddr
	oidInetArray          uint32 = 1041 // _inet
	oidACLItemArray       uint32 = 1034 // _aclitem
	oidBPCharArray        uint32 = 1014 // _bpchar
	oidVarcharArray       uint32 = 1015 // _varchar
	oidDateArray          uint32 = 1182 // _date
	oidTimeArray          uint32 = 1183 // _time
	oidTimestampArray     uint32 = 1115 // _timestamp
	oidTimestamptzArray   uint32 = 1185 // _timestamptz
	oidIntervalArray      uint32 = 1187 // _interval
	oidTimetzArray        uint32 = 1270 // _timetz
	oidBitArray           uint32 = 1561 // _bit
	oidVarbitArray        uint32 = 1563 // _varbit
	oidNumericArray       uint32 = 1231 // _numeric
	oidRefcursorArray     uint32 = 2201 // _refcursor
	oidRegprocedureArray  uint32 = 2207 // _regprocedure
	oidRegoperArray       uint32 = 2208 // _regoper
	oidRegoperatorArray   uint32 = 2209 // _regoperator
	oidRegclassArray      uint32 = 2210 // _regclass
	oidRegtypeArray       uint32 = 2211 // _regtype
	oidRecordArray        uint32 = 2287 // _record
	oidCStringArray       uint32 = 1263 // _cstring
	oidUUIDArray          uint32 = 2951 // _uuid
	oidTxidSnapshotArray  uint32 = 2949 // _txid_snapshot
	oidPgLSNArray         uint32 = 3221 // _pg_lsn
	oidTSVectorArray      uint32 = 3643 // _tsvector
	oidTSQueryArray       uint32 = 3645 // _tsquery
	oidRegconfigArray     uint32 = 3735 // _regconfig
	oidRegdictionaryArray uint32 = 3770 // _regdictionary
	oidJSONBArray         uint32 = 3807 // _jsonb
	oidInt4RangeArray     uint32 = 3905 // _int4range
	oidNumRangeArray      uint32 = 3907 // _numrange
	oidTSRangeArray       uint32 = 3909 // _tsrange
	oidTSTZRangeArray     uint32 = 3911 // _tstzrange
	oidDateRangeArray     uint32 = 3913 // _daterange
	oidInt8RangeArray     uint32 = 3927 // _int8range
	oidJSONPathArray      uint32 = 4073 // _jsonpath
	oidRegnamespaceArray  uint32 = 4090 // _regnamespace
	oidRegroleArray       uint32 = 4097 // _regrole
	oidRegcollationArray  uint32 = 4192 // _regcollation
	oidPgSnapshotArray    uint32 = 5039 // _pg_snapshot
	oidXID8Array          uint32 = 271  // _xid8
)

// typeNames maps every OID above to its upper-case pg_type.typname.
var typeNames = map[uint32]string{
	oidBool:               "BOOL",
	oidBoolArray:          "_BOOL",
	oidBytea:              "BYTEA",
	oidByteaArray:         "_BYTEA",
	oidChar:               "CHAR",
	oidCharArray:          "_CHAR",
	oidName:               "NAME",
	oidNameArray:          "_NAME",
	oidInt8:               "INT8",
	oidInt8Array:          "_INT8",
	oidInt2:               "INT2",
	oidInt2Array:          "_INT2",
	oidInt2Vector:         "INT2VECTOR",
	oidInt2VectorArray:    "_INT2VECTOR",
	oidInt4:               "INT4",
	oidInt4Array:          "_INT4",
	oidRegproc:            "REGPROC",
	oidRegprocArray:       "_REGPROC",
	oidText:               "TEXT",
	oidTextArray:          "_TEXT",
	oidOID:                "OID",
	oidOIDArray:           "_OID",
	oidTID:                "TID",
	oidTIDArray:           "_TID",
	oidXID:                "XID",
	oidXIDArray:           "_XID",
	oidCID:                "CID",
	oidCIDArray:           "_CID",
	oidOIDVector:          "OIDVECTOR",
	oidOIDVectorArray:     "_OIDVECTOR",
	oidJSON:               "JSON",
	oidJSONArray:          "_JSON",
	oidXML:                "XML",
	oidXMLArray:           "_XML",
	oidPoint:              "POINT",
	oidPointArray:         "_POINT",
	oidLseg:               "LSEG",
	oidLsegArray:          "_LSEG",
	oidPath:               "PATH",
	oidPathArray:          "_PATH",
	oidBox:                "BOX",
	oidBoxArray:           "_BOX",
	oidPolygon:            "POLYGON",
	oidPolygonArray:       "_POLYGON",
	oidLine:               "LINE",
	oidLineArray:          "_LINE",
	oidCidr:               "CIDR",
	oidCidrArray:          "_CIDR",
	oidFloat4:             "FLOAT4",
	oidFloat4Array:        "_FLOAT4",
	oidFloat8:             "FLOAT8",
	oidFloat8Array:        "_FLOAT8",
	oidUnknown:            "UNKNOWN",
	oidCircle:             "CIRCLE",
	oidCircleArray:        "_CIRCLE",
	oidMacaddr8:           "MACADDR8",
	oidMacaddr8Array:      "_MACADDR8",
	oidMoney:              "MONEY",
	oidMoneyArray:         "_MONEY",
	oidMacaddr:            "MACADDR",
	oidMacaddrArray:       "_MACADDR",
	oidInet:               "INET",
	oidInetArray:          "_INET",
	oidACLItem:            "ACLITEM",
	oidACLItemArray:       "_ACLITEM",
	oidBPChar:             "BPCHAR",
	oidBPCharArray:        "_BPCHAR",
	oidVarchar:            "VARCHAR",
	oidVarcharArray:       "_VARCHAR",
	oidDate:               "DATE",
	oidDateArray:          "_DATE",
	oidTime:               "TIME",
	oidTimeArray:          "_TIME",
	oidTimestamp:          "TIMESTAMP",
	oidTimestampArray:     "_TIMESTAMP",
	oidTimestamptz:        "TIMESTAMPTZ",
	oidTimestamptzArray:   "_TIMESTAMPTZ",
	oidInterval:           "INTERVAL",
	oidIntervalArray:      "_INTERVAL",
	oidTimetz:             "TIMETZ",
	oidTimetzArray:        "_TIMETZ",
	oidBit:                "BIT",
	oidBitArray:           "_BIT",
	oidVarbit:             "VARBIT",
	oidVarbitArray:        "_VARBIT",
	oidNumeric:            "NUMERIC",
	oidNumericArray:       "_NUMERIC",
	oidRefcursor:          "REFCURSOR",
	oidRefcursorArray:     "_REFCURSOR",
	oidRegprocedure:       "REGPROCEDURE",
	oidRegprocedureArray:  "_REGPROCEDURE",
	oidRegoper:            "REGOPER",
	oidRegoperArray:       "_REGOPER",
	oidRegoperator:        "REGOPERATOR",
	oidRegoperatorArray:   "_REGOPERATOR",
	oidRegclass:           "REGCLASS",
	oidRegclassArray:      "_REGCLASS",
	oidRegtype:            "REGTYPE",
	oidRegtypeArray:       "_REGTYPE",
	oidRecord:             "RECORD",
	oidRecordArray:        "_RECORD",
	oidCString:            "CSTRING",
	oidCStringArray:       "_CSTRING",
	oidVoid:               "VOID",
	oidUUID:               "UUID",
	oidUUIDArray:          "_UUID",
	oidTxidSnapshot:       "TXID_SNAPSHOT",
	oidTxidSnapshotArray:  "_TXID_SNAPSHOT",
	oidPgLSN:              "PG_LSN",
	oidPgLSNArray:         "_PG_LSN",
	oidTSVector:           "TSVECTOR",
	oidTSVectorArray:      "_TSVECTOR",
	oidTSQuery:            "TSQUERY",
	oidTSQueryArray:       "_TSQUERY",
	oidRegconfig:          "REGCONFIG",
	oidRegconfigArray:     "_REGCONFIG",
	oidRegdictionary:      "REGDICTIONARY",
	oidRegdictionaryArray: "_REGDICTIONARY",
	oidJSONB:              "JSONB",
	oidJSONBArray:         "_JSONB",
	oidInt4Range:          "INT4RANGE",
	oidInt4RangeArray:     "_INT4RANGE",
	oidNumRange:           "NUMRANGE",
	oidNumRangeArray:      "_NUMRANGE",
	oidTSRange:            "TSRANGE",
	oidTSRangeArray:       "_TSRANGE",
	oidTSTZRange:          "TSTZRANGE",
	oidTSTZRangeArray:     "_TSTZRANGE",
	oidDateRange:          "DATERANGE",
	oidDateRangeArray:     "_DATERANGE",
	oidInt8Range:          "INT8RANGE",
	oidInt8RangeArray:     "_INT8RANGE",
	oidJSONPath:           "JSONPATH",
	oidJSONPathArray:      "_JSONPATH",
	oidRegnamespace:       "REGNAMESPACE",
	oidRegnamespaceArray:  "_REGNAMESPACE",
	oidRegrole:            "REGROLE",
	oidRegroleArray:       "_REGROLE",
	oidRegcollation:       "REGCOLLATION",
	oidRegcollationArray:  "_REGCOLLATION",
	oidPgSnapshot:         "PG_SNAPSHOT",
	oidPgSnapshotArray:    "_PG_SNAPSHOT",
	oidXID8:               "XID8",
	oidXID8Array:          "_XID8",
}

// typeName returns the upper-case PostgreSQL name of the type with this OID,
// as database/sql's ColumnTypeDatabaseTypeName wants it: "INT4", "VARCHAR",
// "TIMESTAMPTZ", and for arrays the catalog name with its leading underscore,
// "_INT4" (the names lib/pq reports). It returns "" for an OID it does not
// know, such as that of an extension type or an enum.
func typeName(oid uint32) string {
	return typeNames[oid]
}
