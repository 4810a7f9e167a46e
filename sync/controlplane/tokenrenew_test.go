package controlplane

import (
	"encoding/base64"
	"testing"
	"time"
)

func TestTokenRenewTime(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	for name, tc := range map[string]struct {
		issued, expiry time.Time
		at             float64
		want           time.Time
	}{
		"80% of a year":                {t0, t0.Add(365 * 24 * time.Hour), 0.8, t0.Add(292 * 24 * time.Hour)},
		"default when 0":               {t0, t0.Add(10 * time.Minute), 0, t0.Add(8 * time.Minute)},
		"default when above 1":         {t0, t0.Add(10 * time.Minute), 1.5, t0.Add(8 * time.Minute)},
		"early fraction for tests":     {t0, t0.Add(10 * time.Minute), 0.01, t0.Add(6 * time.Second)},
		"at expiry when 1":             {t0, t0.Add(10 * time.Minute), 1, t0.Add(10 * time.Minute)},
		"no issue time: at once":       {time.Unix(0, 0), t0, 0.8, time.Time{}},
		"issued after expiry: at once": {t0.Add(time.Hour), t0, 0.8, time.Time{}},
	} {
		if got := TokenRenewTime(tc.issued, tc.expiry, tc.at); !got.Equal(tc.want) {
			t.Errorf("%s: TokenRenewTime = %s, want %s", name, got, tc.want)
		}
	}
}

func TestTokenRetryDelay(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	far := now.Add(24 * time.Hour)
	for name, tc := range map[string]struct {
		n      int
		expiry time.Time
		want   time.Duration
	}{
		"first":                 {1, far, 5 * time.Second},
		"third":                 {3, far, 20 * time.Second},
		"capped":                {20, far, 5 * time.Minute},
		"half the time left":    {20, now.Add(2 * time.Minute), time.Minute},
		"at least a second":     {1, now.Add(time.Second), time.Second},
		"expired: a second too": {5, now.Add(-time.Hour), time.Second},
	} {
		if got := TokenRetryDelay(tc.n, now, tc.expiry); got != tc.want {
			t.Errorf("%s: TokenRetryDelay = %s, want %s", name, got, tc.want)
		}
	}
}

func TestParseTokenClaims(t *testing.T) {
	enc := func(s string) string { return "h." + base64.RawURLEncoding.EncodeToString([]byte(s)) + ".sig" }
	c, err := ParseTokenClaims(enc(`{"sub":"system:serviceaccount:ns:mcp-connector","iat":100,"exp":700}`))
	if err != nil || c.Subject != ServiceAccountSubject("ns", "mcp-connector") || c.IssuedAt.Unix() != 100 || c.Expiry.Unix() != 700 {
		t.Errorf("ParseTokenClaims = %+v, %v", c, err)
	}
	for _, bad := range []string{"not-a-jwt", "a.!!.c", enc(`not json`), enc(`{"sub":"x","iat":1}`)} {
		if _, err := ParseTokenClaims(bad); err == nil {
			t.Errorf("ParseTokenClaims(%q) = nil error, want one", bad)
		}
	}
}
