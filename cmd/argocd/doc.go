// Package argocd writes what Argo CD needs to show mirrored claims as they
// are: the argocd-cm entries (a Lua health check and the ignore-differences
// settings) for every claim API the connector mirrors, printed or applied to
// the argocd-cm ConfigMap. It owns only its own keys of argocd-cm; it never
// reads or writes claims, and it never drops another key.
package argocd
