package main

import (
	"image/color"
	"path/filepath"

	"gonum.org/v1/plot/plotter"
)

var thirdColor = color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff}

// scaleSection renders the scale part's section of report.md.
func scaleSection(p printer, r *Results) {
	var s scaleResults
	if !loadPart(r, "scale", &s) {
		return
	}
	p("## Scale (issue 15 item 6)\n")
	if len(s.Kinds) > 0 {
		p("### Claims over kinds, one app cluster\n")
		p("Cold start: the claims exist before the connector starts; baseline: a bare client at the connector's QPS creates as many objects in the control plane. Rest: %s after the sync, the connector's default resync (10 h). The control plane's kube-apiserver figures are from /proc.\n", s.Window)
		p("| kinds | claims | connector to remote | baseline | ratio (baseline/connector time) | all in sync | peak RSS (per claim) | RSS at rest | goroutines | requests/min at rest: app r/w, cp r/w | cp kube-apiserver RSS: idle → +baseline → +connector | cp CPU s: connector sync / baseline | cp watches | app watches | load |")
		p("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---|---:|---:|---|")
		for _, k := range s.Kinds {
			p("| %d | %d | %.1f s (%.0f/s) | %.1f s (%.0f/s) | %s | %.1f s | %.0f MiB (%.1f KiB) | %.0f MiB | %.0f | %.1f / %.1f, %.1f / %.1f | %.0f → %.0f → %.0f MiB | %.1f / %.1f (%s) | %.0f | %.0f | %s |",
				k.Kinds, k.Claims, k.Seconds, float64(k.Claims)/k.Seconds, k.BaselineSeconds, float64(k.Claims)/k.BaselineSeconds,
				ratio(k.BaselineSeconds, k.Seconds), k.SyncedSeconds, mib(k.Connector.PeakRSS), float64(k.Connector.PeakRSS)/1024/float64(k.Claims),
				mib(k.RestRSS), k.Goroutines, k.AppReadsPerMin, k.AppWritesPerMin, k.CPReadsPerMin, k.CPWritesPerMin,
				mib(k.CPRSSIdle), mib(k.CPRSSBaseline), mib(k.CPRSSSynced), k.CPCPUSync, k.CPCPUBaseline, ratio(k.CPCPUSync, k.CPCPUBaseline),
				k.CPWatches, k.AppWatches, k.Load)
		}
		p("\nRequests of the initial sync, per claim:\n")
		for _, k := range s.Kinds {
			p("- %d kinds: %s; the cluster-id Lease lost %.0f times", k.Kinds, perMethod(k.SyncRequests, float64(k.Claims)), k.LeaseLost)
		}
		p("\nPlot: scale-kinds.png.\n")
	}
	if len(s.Clusters) > 0 && s.IdleCP != nil {
		idle := *s.IdleCP
		p("### App clusters on one control plane\n")
		p("Each app cluster: its own kube-apiserver and etcd (flags %q), its own connector and control-plane namespace. Windows of %s: at rest, under churn (%.1f changes/s per app cluster: create, update, delete in turn), and the same changes made directly in the control plane by a bare client (baseline churn, the connectors at rest alongside). Per cluster: the increase over the idle control plane (kube-apiserver %.0f MiB, %.3f cores, %.0f watches), divided by the clusters.\n",
			s.AppFlags, s.Window, s.Churn, mib(idle.APIServerRSS), idle.Cores, idle.Watches)
		p("| clusters | claims | cp kube-apiserver RSS (per cluster) | cp etcd RSS | cores at rest (per cluster) | cores under churn | cores, baseline churn | churn cost ratio | watches (per cluster) | served/min at rest (per cluster) | APF rejected | converged after churn | connector RSS | app kube-apiserver RSS | load |")
		p("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
		for _, c := range s.Clusters {
			n := float64(c.Clusters)
			p("| %d | %d | %.0f MiB (%+.1f) | %.0f MiB | %.3f (%+.4f) | %.3f | %.3f | %s | %.0f (%+.1f) | %.0f (%+.1f) | %.0f | %.1f s | %.0f MiB | %.0f MiB | %s |",
				c.Clusters, c.Clusters*c.Claims, mib(c.Rest.APIServerRSS), (mib(c.Rest.APIServerRSS)-mib(idle.APIServerRSS))/n, mib(c.Rest.EtcdRSS),
				c.Rest.Cores, (c.Rest.Cores-idle.Cores)/n, c.Churn.Cores, c.BaselineChurn.Cores,
				ratio(c.Churn.Cores-c.Rest.Cores, c.BaselineChurn.Cores-c.Rest.Cores),
				c.Rest.Watches, (c.Rest.Watches-idle.Watches)/n, c.Rest.ServedPerMin, (c.Rest.ServedPerMin-idle.ServedPerMin)/n,
				c.Churn.Rejected, c.ConvergeSeconds, mib(c.ConnectorRSS), mib(c.AppAPIServerRSS), c.Load)
		}
		p("\nAPI Priority and Fairness shares %.0f seats (nominal limits summed over the priority levels). Churn cost ratio: (cores under churn − at rest) / (baseline churn − at rest). Plot: scale-clusters.png.\n", s.Clusters[len(s.Clusters)-1].Rest.Seats)
	}
	for _, e := range s.Errors {
		p("- error: %s", e)
	}
	p("")
}

// plotScale writes scale-kinds.png and scale-clusters.png into dir.
func plotScale(s *scaleResults, dir string) error {
	xy := func(n int, f func(i int) (float64, float64)) plotter.XYs {
		out := make(plotter.XYs, n)
		for i := range out {
			out[i].X, out[i].Y = f(i)
		}
		return out
	}
	if k := s.Kinds; len(k) > 0 {
		kx := func(y func(r kindsResult) float64) plotter.XYs {
			return xy(len(k), func(i int) (float64, float64) { return float64(k[i].Kinds), y(k[i]) })
		}
		panels := []growthPanel{
			{Title: "initial sync (cold start)", X: "kinds", Y: "seconds", Series: []growthSeries{
				{"connector", kx(func(r kindsResult) float64 { return r.Seconds }), connectorColor},
				{"baseline", kx(func(r kindsResult) float64 { return r.BaselineSeconds }), baselineColor}}},
			{Title: "connector memory", X: "kinds", Y: "MiB", Series: []growthSeries{
				{"peak RSS", kx(func(r kindsResult) float64 { return mib(r.Connector.PeakRSS) }), connectorColor},
				{"RSS at rest", kx(func(r kindsResult) float64 { return mib(r.RestRSS) }), thirdColor}}},
			{Title: "control plane kube-apiserver RSS", X: "kinds", Y: "MiB", Series: []growthSeries{
				{"idle", kx(func(r kindsResult) float64 { return mib(r.CPRSSIdle) }), thirdColor},
				{"+ baseline objects", kx(func(r kindsResult) float64 { return mib(r.CPRSSBaseline) }), baselineColor},
				{"+ connector's claims", kx(func(r kindsResult) float64 { return mib(r.CPRSSSynced) }), connectorColor}}},
			{Title: "control plane kube-apiserver CPU", X: "kinds", Y: "CPU seconds", Series: []growthSeries{
				{"connector's sync", kx(func(r kindsResult) float64 { return r.CPCPUSync }), connectorColor},
				{"baseline", kx(func(r kindsResult) float64 { return r.CPCPUBaseline }), baselineColor}}},
		}
		if err := plotGrowth(panels, filepath.Join(dir, "scale-kinds.png")); err != nil {
			return err
		}
	}
	if c := s.Clusters; len(c) > 0 && s.IdleCP != nil {
		idle := *s.IdleCP
		cx := func(y func(r clusterResult) float64, at0 float64) plotter.XYs {
			return append(plotter.XYs{{X: 0, Y: at0}}, xy(len(c), func(i int) (float64, float64) { return float64(c[i].Clusters), y(c[i]) })...)
		}
		panels := []growthPanel{
			{Title: "control plane memory", X: "app clusters", Y: "MiB", Series: []growthSeries{
				{"kube-apiserver at rest", cx(func(r clusterResult) float64 { return mib(r.Rest.APIServerRSS) }, mib(idle.APIServerRSS)), connectorColor},
				{"kube-apiserver under churn", cx(func(r clusterResult) float64 { return mib(r.Churn.APIServerRSS) }, mib(idle.APIServerRSS)), baselineColor},
				{"etcd", cx(func(r clusterResult) float64 { return mib(r.Rest.EtcdRSS) }, mib(idle.EtcdRSS)), thirdColor}}},
			{Title: "control plane kube-apiserver CPU", X: "app clusters", Y: "cores", Series: []growthSeries{
				{"at rest", cx(func(r clusterResult) float64 { return r.Rest.Cores }, idle.Cores), thirdColor},
				{"churn through connectors", cx(func(r clusterResult) float64 { return r.Churn.Cores }, idle.Cores), connectorColor},
				{"baseline churn", cx(func(r clusterResult) float64 { return r.BaselineChurn.Cores }, idle.Cores), baselineColor}}},
			{Title: "watches open on the control plane", X: "app clusters", Y: "watches", Series: []growthSeries{
				{"watches", cx(func(r clusterResult) float64 { return r.Rest.Watches }, idle.Watches), connectorColor}}},
			{Title: "requests served by the control plane at rest", X: "app clusters", Y: "requests/min", Series: []growthSeries{
				{"served", cx(func(r clusterResult) float64 { return r.Rest.ServedPerMin }, idle.ServedPerMin), connectorColor}}},
		}
		if err := plotGrowth(panels, filepath.Join(dir, "scale-clusters.png")); err != nil {
			return err
		}
	}
	return nil
}
