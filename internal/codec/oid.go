package codec

// This file names the OIDs of PostgreSQL's built-in types. They are fixed in
// the server's catalog (src/include/catalog/pg_type.dat) and identical in
// every release (xid8, pg_snapshot and regcollation exist since PostgreSQL 13
// only); types created by extensions (citext, hstore, PostGIS), enums and
// domains get their OIDs at CREATE time and are not here. The values were
// read from pg_type of PostgreSQL 15. A domain column is described with the
// OID of its base type, so it decodes like that type.

// Base types.
const (
	OIDBool          uint32 = 16   // bool
	OIDBytea         uint32 = 17   // bytea
	OIDChar          uint32 = 18   // "char": one byte, not character(n)
	OIDName          uint32 = 19   // name
	OIDInt8          uint32 = 20   // int8
	OIDInt2          uint32 = 21   // int2
	OIDInt2Vector    uint32 = 22   // int2vector
	OIDInt4          uint32 = 23   // int4
	OIDRegproc       uint32 = 24   // regproc
	OIDText          uint32 = 25   // text
	OIDOID           uint32 = 26   // oid
	OIDTID           uint32 = 27   // tid
	OIDXID           uint32 = 28   // xid
	OIDCID           uint32 = 29   // cid
	OIDOIDVector     uint32 = 30   // oidvector
	OIDJSON          uint32 = 114  // json
	OIDXML           uint32 = 142  // xml
	OIDPoint         uint32 = 600  // point
	OIDLseg          uint32 = 601  // lseg
	OIDPath          uint32 = 602  // path
	OIDBox           uint32 = 603  // box
	OIDPolygon       uint32 = 604  // polygon
	OIDLine          uint32 = 628  // line
	OIDCidr          uint32 = 650  // cidr
	OIDFloat4        uint32 = 700  // float4
	OIDFloat8        uint32 = 701  // float8
	OIDUnknown       uint32 = 705  // unknown: an untyped literal such as SELECT 'x'
	OIDCircle        uint32 = 718  // circle
	OIDMacaddr8      uint32 = 774  // macaddr8
	OIDMoney         uint32 = 790  // money
	OIDMacaddr       uint32 = 829  // macaddr
	OIDInet          uint32 = 869  // inet
	OIDACLItem       uint32 = 1033 // aclitem
	OIDBPChar        uint32 = 1042 // character(n), blank-padded
	OIDVarchar       uint32 = 1043 // character varying(n)
	OIDDate          uint32 = 1082 // date
	OIDTime          uint32 = 1083 // time
	OIDTimestamp     uint32 = 1114 // timestamp
	OIDTimestamptz   uint32 = 1184 // timestamptz
	OIDInterval      uint32 = 1186 // interval
	OIDTimetz        uint32 = 1266 // timetz
	OIDBit           uint32 = 1560 // bit
	OIDVarbit        uint32 = 1562 // varbit
	OIDNumeric       uint32 = 1700 // numeric
	OIDRefcursor     uint32 = 1790 // refcursor
	OIDRegprocedure  uint32 = 2202 // regprocedure
	OIDRegoper       uint32 = 2203 // regoper
	OIDRegoperator   uint32 = 2204 // regoperator
	OIDRegclass      uint32 = 2205 // regclass
	OIDRegtype       uint32 = 2206 // regtype
	OIDRecord        uint32 = 2249 // record: an anonymous row such as SELECT (1, 2)
	OIDCString       uint32 = 2275 // cstring
	OIDVoid          uint32 = 2278 // void: the result of a function returning nothing
	OIDUUID          uint32 = 2950 // uuid
	OIDTxidSnapshot  uint32 = 2970 // txid_snapshot
	OIDPgLSN         uint32 = 3220 // pg_lsn
	OIDTSVector      uint32 = 3614 // tsvector
	OIDTSQuery       uint32 = 3615 // tsquery
	OIDRegconfig     uint32 = 3734 // regconfig
	OIDRegdictionary uint32 = 3769 // regdictionary
	OIDJSONB         uint32 = 3802 // jsonb
	OIDInt4Range     uint32 = 3904 // int4range
	OIDNumRange      uint32 = 3906 // numrange
	OIDTSRange       uint32 = 3908 // tsrange
	OIDTSTZRange     uint32 = 3910 // tstzrange
	OIDDateRange     uint32 = 3912 // daterange
	OIDInt8Range     uint32 = 3926 // int8range
	OIDJSONPath      uint32 = 4072 // jsonpath
	OIDRegnamespace  uint32 = 4089 // regnamespace
	OIDRegrole       uint32 = 4096 // regrole
	OIDRegcollation  uint32 = 4191 // regcollation
	OIDPgSnapshot    uint32 = 5038 // pg_snapshot
	OIDXID8          uint32 = 5069 // xid8
)

// Array types: OIDXArray is the OID of X[] (typarray of X).
const (
	OIDBoolArray          uint32 = 1000 // _bool
	OIDByteaArray         uint32 = 1001 // _bytea
	OIDCharArray          uint32 = 1002 // _char
	OIDNameArray          uint32 = 1003 // _name
	OIDInt8Array          uint32 = 1016 // _int8
	OIDInt2Array          uint32 = 1005 // _int2
	OIDInt2VectorArray    uint32 = 1006 // _int2vector
	OIDInt4Array          uint32 = 1007 // _int4
	OIDRegprocArray       uint32 = 1008 // _regproc
	OIDTextArray          uint32 = 1009 // _text
	OIDOIDArray           uint32 = 1028 // _oid
	OIDTIDArray           uint32 = 1010 // _tid
	OIDXIDArray           uint32 = 1011 // _xid
	OIDCIDArray           uint32 = 1012 // _cid
	OIDOIDVectorArray     uint32 = 1013 // _oidvector
	OIDJSONArray          uint32 = 199  // _json
	OIDXMLArray           uint32 = 143  // _xml
	OIDPointArray         uint32 = 1017 // _point
	OIDLsegArray          uint32 = 1018 // _lseg
	OIDPathArray          uint32 = 1019 // _path
	OIDBoxArray           uint32 = 1020 // _box
	OIDPolygonArray       uint32 = 1027 // _polygon
	OIDLineArray          uint32 = 629  // _line
	OIDCidrArray          uint32 = 651  // _cidr
	OIDFloat4Array        uint32 = 1021 // _float4
	OIDFloat8Array        uint32 = 1022 // _float8
	OIDCircleArray        uint32 = 719  // _circle
	OIDMacaddr8Array      uint32 = 775  // _macaddr8
	OIDMoneyArray         uint32 = 791  // _money
	OIDMacaddrArray       uint32 = 1040 // _macaddr
	OIDInetArray          uint32 = 1041 // _inet
	OIDACLItemArray       uint32 = 1034 // _aclitem
	OIDBPCharArray        uint32 = 1014 // _bpchar
	OIDVarcharArray       uint32 = 1015 // _varchar
	OIDDateArray          uint32 = 1182 // _date
	OIDTimeArray          uint32 = 1183 // _time
	OIDTimestampArray     uint32 = 1115 // _timestamp
	OIDTimestamptzArray   uint32 = 1185 // _timestamptz
	OIDIntervalArray      uint32 = 1187 // _interval
	OIDTimetzArray        uint32 = 1270 // _timetz
	OIDBitArray           uint32 = 1561 // _bit
	OIDVarbitArray        uint32 = 1563 // _varbit
	OIDNumericArray       uint32 = 1231 // _numeric
	OIDRefcursorArray     uint32 = 2201 // _refcursor
	OIDRegprocedureArray  uint32 = 2207 // _regprocedure
	OIDRegoperArray       uint32 = 2208 // _regoper
	OIDRegoperatorArray   uint32 = 2209 // _regoperator
	OIDRegclassArray      uint32 = 2210 // _regclass
	OIDRegtypeArray       uint32 = 2211 // _regtype
	OIDRecordArray        uint32 = 2287 // _record
	OIDCStringArray       uint32 = 1263 // _cstring
	OIDUUIDArray          uint32 = 2951 // _uuid
	OIDTxidSnapshotArray  uint32 = 2949 // _txid_snapshot
	OIDPgLSNArray         uint32 = 3221 // _pg_lsn
	OIDTSVectorArray      uint32 = 3643 // _tsvector
	OIDTSQueryArray       uint32 = 3645 // _tsquery
	OIDRegconfigArray     uint32 = 3735 // _regconfig
	OIDRegdictionaryArray uint32 = 3770 // _regdictionary
	OIDJSONBArray         uint32 = 3807 // _jsonb
	OIDInt4RangeArray     uint32 = 3905 // _int4range
	OIDNumRangeArray      uint32 = 3907 // _numrange
	OIDTSRangeArray       uint32 = 3909 // _tsrange
	OIDTSTZRangeArray     uint32 = 3911 // _tstzrange
	OIDDateRangeArray     uint32 = 3913 // _daterange
	OIDInt8RangeArray     uint32 = 3927 // _int8range
	OIDJSONPathArray      uint32 = 4073 // _jsonpath
	OIDRegnamespaceArray  uint32 = 4090 // _regnamespace
	OIDRegroleArray       uint32 = 4097 // _regrole
	OIDRegcollationArray  uint32 = 4192 // _regcollation
	OIDPgSnapshotArray    uint32 = 5039 // _pg_snapshot
	OIDXID8Array          uint32 = 271  // _xid8
)

// typeNames maps every OID above to its upper-case pg_type.typname.
var typeNames = map[uint32]string{
	OIDBool:               "BOOL",
	OIDBoolArray:          "_BOOL",
	OIDBytea:              "BYTEA",
	OIDByteaArray:         "_BYTEA",
	OIDChar:               "CHAR",
	OIDCharArray:          "_CHAR",
	OIDName:               "NAME",
	OIDNameArray:          "_NAME",
	OIDInt8:               "INT8",
	OIDInt8Array:          "_INT8",
	OIDInt2:               "INT2",
	OIDInt2Array:          "_INT2",
	OIDInt2Vector:         "INT2VECTOR",
	OIDInt2VectorArray:    "_INT2VECTOR",
	OIDInt4:               "INT4",
	OIDInt4Array:          "_INT4",
	OIDRegproc:            "REGPROC",
	OIDRegprocArray:       "_REGPROC",
	OIDText:               "TEXT",
	OIDTextArray:          "_TEXT",
	OIDOID:                "OID",
	OIDOIDArray:           "_OID",
	OIDTID:                "TID",
	OIDTIDArray:           "_TID",
	OIDXID:                "XID",
	OIDXIDArray:           "_XID",
	OIDCID:                "CID",
	OIDCIDArray:           "_CID",
	OIDOIDVector:          "OIDVECTOR",
	OIDOIDVectorArray:     "_OIDVECTOR",
	OIDJSON:               "JSON",
	OIDJSONArray:          "_JSON",
	OIDXML:                "XML",
	OIDXMLArray:           "_XML",
	OIDPoint:              "POINT",
	OIDPointArray:         "_POINT",
	OIDLseg:               "LSEG",
	OIDLsegArray:          "_LSEG",
	OIDPath:               "PATH",
	OIDPathArray:          "_PATH",
	OIDBox:                "BOX",
	OIDBoxArray:           "_BOX",
	OIDPolygon:            "POLYGON",
	OIDPolygonArray:       "_POLYGON",
	OIDLine:               "LINE",
	OIDLineArray:          "_LINE",
	OIDCidr:               "CIDR",
	OIDCidrArray:          "_CIDR",
	OIDFloat4:             "FLOAT4",
	OIDFloat4Array:        "_FLOAT4",
	OIDFloat8:             "FLOAT8",
	OIDFloat8Array:        "_FLOAT8",
	OIDUnknown:            "UNKNOWN",
	OIDCircle:             "CIRCLE",
	OIDCircleArray:        "_CIRCLE",
	OIDMacaddr8:           "MACADDR8",
	OIDMacaddr8Array:      "_MACADDR8",
	OIDMoney:              "MONEY",
	OIDMoneyArray:         "_MONEY",
	OIDMacaddr:            "MACADDR",
	OIDMacaddrArray:       "_MACADDR",
	OIDInet:               "INET",
	OIDInetArray:          "_INET",
	OIDACLItem:            "ACLITEM",
	OIDACLItemArray:       "_ACLITEM",
	OIDBPChar:             "BPCHAR",
	OIDBPCharArray:        "_BPCHAR",
	OIDVarchar:            "VARCHAR",
	OIDVarcharArray:       "_VARCHAR",
	OIDDate:               "DATE",
	OIDDateArray:          "_DATE",
	OIDTime:               "TIME",
	OIDTimeArray:          "_TIME",
	OIDTimestamp:          "TIMESTAMP",
	OIDTimestampArray:     "_TIMESTAMP",
	OIDTimestamptz:        "TIMESTAMPTZ",
	OIDTimestamptzArray:   "_TIMESTAMPTZ",
	OIDInterval:           "INTERVAL",
	OIDIntervalArray:      "_INTERVAL",
	OIDTimetz:             "TIMETZ",
	OIDTimetzArray:        "_TIMETZ",
	OIDBit:                "BIT",
	OIDBitArray:           "_BIT",
	OIDVarbit:             "VARBIT",
	OIDVarbitArray:        "_VARBIT",
	OIDNumeric:            "NUMERIC",
	OIDNumericArray:       "_NUMERIC",
	OIDRefcursor:          "REFCURSOR",
	OIDRefcursorArray:     "_REFCURSOR",
	OIDRegprocedure:       "REGPROCEDURE",
	OIDRegprocedureArray:  "_REGPROCEDURE",
	OIDRegoper:            "REGOPER",
	OIDRegoperArray:       "_REGOPER",
	OIDRegoperator:        "REGOPERATOR",
	OIDRegoperatorArray:   "_REGOPERATOR",
	OIDRegclass:           "REGCLASS",
	OIDRegclassArray:      "_REGCLASS",
	OIDRegtype:            "REGTYPE",
	OIDRegtypeArray:       "_REGTYPE",
	OIDRecord:             "RECORD",
	OIDRecordArray:        "_RECORD",
	OIDCString:            "CSTRING",
	OIDCStringArray:       "_CSTRING",
	OIDVoid:               "VOID",
	OIDUUID:               "UUID",
	OIDUUIDArray:          "_UUID",
	OIDTxidSnapshot:       "TXID_SNAPSHOT",
	OIDTxidSnapshotArray:  "_TXID_SNAPSHOT",
	OIDPgLSN:              "PG_LSN",
	OIDPgLSNArray:         "_PG_LSN",
	OIDTSVector:           "TSVECTOR",
	OIDTSVectorArray:      "_TSVECTOR",
	OIDTSQuery:            "TSQUERY",
	OIDTSQueryArray:       "_TSQUERY",
	OIDRegconfig:          "REGCONFIG",
	OIDRegconfigArray:     "_REGCONFIG",
	OIDRegdictionary:      "REGDICTIONARY",
	OIDRegdictionaryArray: "_REGDICTIONARY",
	OIDJSONB:              "JSONB",
	OIDJSONBArray:         "_JSONB",
	OIDInt4Range:          "INT4RANGE",
	OIDInt4RangeArray:     "_INT4RANGE",
	OIDNumRange:           "NUMRANGE",
	OIDNumRangeArray:      "_NUMRANGE",
	OIDTSRange:            "TSRANGE",
	OIDTSRangeArray:       "_TSRANGE",
	OIDTSTZRange:          "TSTZRANGE",
	OIDTSTZRangeArray:     "_TSTZRANGE",
	OIDDateRange:          "DATERANGE",
	OIDDateRangeArray:     "_DATERANGE",
	OIDInt8Range:          "INT8RANGE",
	OIDInt8RangeArray:     "_INT8RANGE",
	OIDJSONPath:           "JSONPATH",
	OIDJSONPathArray:      "_JSONPATH",
	OIDRegnamespace:       "REGNAMESPACE",
	OIDRegnamespaceArray:  "_REGNAMESPACE",
	OIDRegrole:            "REGROLE",
	OIDRegroleArray:       "_REGROLE",
	OIDRegcollation:       "REGCOLLATION",
	OIDRegcollationArray:  "_REGCOLLATION",
	OIDPgSnapshot:         "PG_SNAPSHOT",
	OIDPgSnapshotArray:    "_PG_SNAPSHOT",
	OIDXID8:               "XID8",
	OIDXID8Array:          "_XID8",
}

// TypeName returns the upper-case PostgreSQL name of the type with this OID,
// as database/sql's ColumnTypeDatabaseTypeName wants it: "INT4", "VARCHAR",
// "TIMESTAMPTZ", and for arrays the catalog name with its leading underscore,
// "_INT4" (the names lib/pq reports). It returns "" for an OID it does not
// know, such as that of an extension type or an enum.
func TypeName(oid uint32) string {
	return typeNames[oid]
}
