package conflict

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzEqualJSON checks EqualJSON on any JSON document: it is reflexive and
// symmetric, a value equals its JSON round trip, the float64 and json.Number
// decodings of one document are equal, and a spec hashes like its round trip.
func FuzzEqualJSON(f *testing.F) {
	for _, s := range []string{
		`null`, `true`, `"s"`, `0`, `-0`, `1.5`, `1e300`, `12345678901234567890`, `[]`, `{}`,
		`{"a":1}`, `{"a":[1,2,{"b":"c"}],"d":{"e":1.5,"f":null}}`,
		`{"parameters":{"size":"small","count":2,"tags":["a","b"]},"writeConnectionSecretToRef":{"name":"x"}}`,
		`[{"port":80},{"port":443,"name":"https"}]`, `{"\u00e9":"\ud83d\ude00"}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, doc string) {
		var v any
		if json.Unmarshal([]byte(doc), &v) != nil {
			return
		}
		d := json.NewDecoder(strings.NewReader(doc))
		d.UseNumber()
		var n any
		if err := d.Decode(&n); err != nil {
			t.Fatalf("json.Number decoding failed where float decoding did not: %v", err)
		}
		rt := roundTrip(t, v)
		if !EqualJSON(v, v) {
			t.Errorf("not reflexive: %s", doc)
		}
		if !EqualJSON(v, rt) || !EqualJSON(rt, v) {
			t.Errorf("not equal to its round trip: %s", doc)
		}
		if !EqualJSON(v, n) || !EqualJSON(n, v) {
			t.Errorf("float64 and json.Number decodings differ: %s", doc)
		}
		if m, ok := v.(map[string]any); ok {
			h := SpecHash(m)
			if h == "" || h != SpecHash(rt.(map[string]any)) {
				t.Errorf("SpecHash %q differs from its round trip's: %s", h, doc)
			}
		}
	})
}

// FuzzSpecHash builds one spec of strings and integers twice, once with
// int64 and once with float64 numbers and in another insertion order: the two
// are EqualJSON, hash the same, and a changed value changes both answers.
func FuzzSpecHash(f *testing.F) {
	f.Add("size", "small", int64(2), "tags", "a")
	f.Add("", "", int64(0), "zero", "")
	f.Add("count", "9007199254740992", int64(1<<53), "count", "x")
	f.Add("k", "\u00e9", int64(-1<<53), "l", "\"quoted\"")
	f.Fuzz(func(t *testing.T, k1, s1 string, n int64, k2, s2 string) {
		if !utf8.ValidString(k1) || !utf8.ValidString(s1) || !utf8.ValidString(k2) || !utf8.ValidString(s2) {
			return // API strings are valid UTF-8; JSON would rewrite the rest
		}
		if k1 == k2 || k1 == "nested" || k2 == "nested" || k1 == "list" || k2 == "list" {
			return // colliding keys: the two builds would keep different values
		}
		if n > 1<<53 || n < -(1<<53) {
			n %= 1 << 53 // beyond 2^53 a float64 cannot hold the integer
		}
		a := map[string]any{}
		a[k1] = s1
		a[k2] = n
		a["nested"] = map[string]any{k1: n, k2: s2, "list": []any{n, s1, map[string]any{k2: s2}}}

		b := map[string]any{}
		b["nested"] = map[string]any{"list": []any{float64(n), s1, map[string]any{k2: s2}}, k2: s2, k1: float64(n)}
		b[k1] = s1
		b[k2] = float64(n)

		if !EqualJSON(a, b) || !EqualJSON(b, a) {
			t.Fatalf("int64 and float64 builds differ: %v / %v", a, b)
		}
		if !EqualJSON(a, roundTrip(t, a)) {
			t.Errorf("not equal to its round trip: %v", a)
		}
		if SpecHash(a) != SpecHash(b) {
			t.Errorf("EqualJSON specs hash differently: %v / %v", a, b)
		}
		b["nested"].(map[string]any)["list"].([]any)[1] = s1 + "!"
		if EqualJSON(a, b) || SpecHash(a) == SpecHash(b) {
			t.Errorf("a changed value went unnoticed: %v / %v", a, b)
		}
	})
}

func roundTrip(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("marshal %v: %v", v, err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("unmarshal %s: %v", b, err)
	}
	return out
}
