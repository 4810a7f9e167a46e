package controlplane

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"time"
)

// DefaultTokenRenewAt is the fraction of a minted token's lifetime after
// which the connector renews it.
const DefaultTokenRenewAt = 0.8

// TokenClaims are the claims of a ServiceAccount token (a JWT) that renewal
// needs, read without verifying the signature: the API server verifies it.
type TokenClaims struct {
	Subject  string
	IssuedAt time.Time
	Expiry   time.Time
}

// ParseTokenClaims reads the subject, iat and exp of a JWT. A token that is
// not a JWT, or has no expiry, is an error: it cannot be renewed.
func ParseTokenClaims(token string) (TokenClaims, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return TokenClaims{}, errors.New("the token is not a JWT")
	}
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return TokenClaims{}, errors.New("the token's claims are not base64url")
	}
	var c struct {
		Sub string `json:"sub"`
		Iat int64  `json:"iat"`
		Exp int64  `json:"exp"`
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return TokenClaims{}, errors.New("the token's claims are not JSON")
	}
	if c.Exp == 0 {
		return TokenClaims{}, errors.New("the token does not expire")
	}
	return TokenClaims{Subject: c.Sub, IssuedAt: time.Unix(c.Iat, 0), Expiry: time.Unix(c.Exp, 0)}, nil
}

// ServiceAccountSubject is the subject of the tokens of ServiceAccount
// namespace/name.
func ServiceAccountSubject(namespace, name string) string {
	return "system:serviceaccount:" + namespace + ":" + name
}

// TokenRenewTime is when a token issued at issued and expiring at expiry is
// renewed: after the fraction renewAt of its lifetime (renewAt outside
// (0, 1] counts as DefaultTokenRenewAt). A token without a usable issue
// time (none, or not before its expiry) is renewed at once.
func TokenRenewTime(issued, expiry time.Time, renewAt float64) time.Time {
	if renewAt <= 0 || renewAt > 1 {
		renewAt = DefaultTokenRenewAt
	}
	if issued.IsZero() || issued.Unix() == 0 || !issued.Before(expiry) {
		return time.Time{}
	}
	return issued.Add(time.Duration(float64(expiry.Sub(issued)) * renewAt))
}

// TokenRetryDelay is how long to wait after the n-th failed renewal in a
// row (n >= 1): 5s doubling up to 5m, never past the token's expiry minus
// a margin, and at least a second.
func TokenRetryDelay(n int, now, expiry time.Time) time.Duration {
	d := 5 * time.Second
	for i := 1; i < n && d < 5*time.Minute; i++ {
		d *= 2
	}
	d = min(d, 5*time.Minute)
	if left := expiry.Sub(now) / 2; left < d {
		d = left
	}
	return max(d, time.Second)
}
