package conflict

// Holder says which app cluster holds a control-plane namespace, as recorded
// in the namespace by the connector (a Lease it owns there).
type Holder int

const (
	// HolderNone: no app cluster has claimed the namespace yet.
	HolderNone Holder = iota
	// HolderUs: this app cluster holds it.
	HolderUs
	// HolderOther: another app cluster holds it; syncing is refused.
	HolderOther
)

func (h Holder) String() string {
	return [...]string{"None", "Us", "Other"}[h]
}

// ClassifyHolder compares the recorded holder with our cluster id.
func ClassifyHolder(recorded, clusterID string) Holder {
	switch recorded {
	case "":
		return HolderNone
	case clusterID:
		return HolderUs
	}
	return HolderOther
}

// MayHold says whether this connector may record itself as the holder and
// sync into the namespace. Taking a namespace from another cluster needs the
// explicit takeover flag.
func MayHold(h Holder, takeover bool) bool {
	return h != HolderOther || takeover
}
