// Package luahealth evaluates an Argo CD health script on an object the way
// Argo CD does (argo-cd util/lua): gopher-lua with only the base, package and
// table libraries open, the object as the global `obj`, a one-second limit,
// and the returned table's `status` and `message` as the verdict. Argo CD
// also opens a safe subset of the os library; this evaluator opens none, and
// a script that calls os fails here (the Crossplane scripts do not). It works
// on any object (claims, composite resources); it is for tests and checks,
// not for the connector, which evaluates nothing.
package luahealth

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	lua "github.com/yuin/gopher-lua"
)

// Health statuses Argo CD accepts from a script; any other is Unknown.
const (
	Healthy     = "Healthy"
	Progressing = "Progressing"
	Degraded    = "Degraded"
	Suspended   = "Suspended"
	Missing     = "Missing"
	Unknown     = "Unknown"
)

// Health is a script's verdict.
type Health struct {
	Status  string
	Message string
}

// Evaluate runs script with obj (an object as the API server returns it) as
// the global `obj`. A script that returns nothing gives an empty Health, as
// in Argo CD; one that returns an unknown status gives Unknown.
func Evaluate(script string, obj map[string]any) (Health, error) {
	l := lua.NewState(lua.Options{SkipOpenLibs: true})
	defer l.Close()
	for _, lib := range []struct {
		name string
		open lua.LGFunction
	}{{lua.LoadLibName, lua.OpenPackage}, {lua.BaseLibName, lua.OpenBase}, {lua.TabLibName, lua.OpenTable}} {
		if err := l.CallByParam(lua.P{Fn: l.NewFunction(lib.open), Protect: true}, lua.LString(lib.name)); err != nil {
			return Health{}, fmt.Errorf("open Lua library %q: %w", lib.name, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	l.SetContext(ctx)
	v, err := toLua(l, obj)
	if err != nil {
		return Health{}, err
	}
	l.SetGlobal("obj", v)
	if err := l.DoString(script); err != nil {
		return Health{}, fmt.Errorf("run the health script: %w", err)
	}
	return verdict(l.Get(-1))
}

func verdict(ret lua.LValue) (Health, error) {
	switch t := ret.(type) {
	case *lua.LNilType:
		return Health{}, nil
	case *lua.LTable:
		h := Health{Status: lua.LVAsString(t.RawGetString("status")), Message: lua.LVAsString(t.RawGetString("message"))}
		switch h.Status {
		case Healthy, Progressing, Degraded, Suspended, Missing, Unknown:
			return h, nil
		}
		return Health{Status: Unknown, Message: "Lua returned an invalid health status"}, nil
	}
	return Health{}, fmt.Errorf("the health script returned a %s, want a table", ret.Type())
}

// toLua converts obj through JSON, so that numbers are float64 as in Argo
// CD's decoding of an object, whatever Go types the caller holds.
func toLua(l *lua.LState, obj map[string]any) (lua.LValue, error) {
	b, err := json.Marshal(obj)
	if err != nil {
		return nil, fmt.Errorf("encode the object: %w", err)
	}
	var plain any
	if err := json.Unmarshal(b, &plain); err != nil {
		return nil, fmt.Errorf("decode the object: %w", err)
	}
	return value(l, plain), nil
}

func value(l *lua.LState, v any) lua.LValue {
	switch x := v.(type) {
	case bool:
		return lua.LBool(x)
	case float64:
		return lua.LNumber(x)
	case string:
		return lua.LString(x)
	case []any:
		t := l.CreateTable(len(x), 0)
		for _, item := range x {
			t.Append(value(l, item))
		}
		return t
	case map[string]any:
		t := l.CreateTable(0, len(x))
		for k, item := range x {
			t.RawSetH(lua.LString(k), value(l, item))
		}
		return t
	}
	return lua.LNil
}
