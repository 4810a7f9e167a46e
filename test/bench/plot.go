package main

import (
	"image/color"
	"math"
	"os"
	"slices"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

var (
	connectorColor = color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff}
	baselineColor  = color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}
)

// plotLatency draws one panel per figure: the cumulative distribution of
// the connector's and the baseline's samples on a logarithmic time axis.
func plotLatency(lat []latencyResult, path string) error {
	panels := make([]*plot.Plot, len(lat))
	for i, l := range lat {
		p, err := latencyPanel(l)
		if err != nil {
			return err
		}
		panels[i] = p
	}
	return drawTiles(panels, 3, path)
}

// drawTiles draws the panels in rows of cols, aligned, into a PNG at path.
func drawTiles(panels []*plot.Plot, cols int, path string) error {
	rows := (len(panels) + cols - 1) / cols
	img := vgimg.New(vg.Length(cols)*5*vg.Inch, vg.Length(rows)*3.6*vg.Inch)
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: rows, Cols: cols, PadX: vg.Millimeter * 4, PadY: vg.Millimeter * 4,
		PadTop: vg.Millimeter * 2, PadBottom: vg.Millimeter * 2, PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 2}
	plots := make([][]*plot.Plot, rows)
	for i := range plots {
		plots[i] = make([]*plot.Plot, cols)
	}
	for i, p := range panels {
		plots[i/cols][i%cols] = p
	}
	canvases := plot.Align(plots, tiles, dc)
	for r := range plots {
		for c, p := range plots[r] {
			if p != nil {
				p.Draw(canvases[r][c])
			}
		}
	}
	return saveImage(img, path)
}

func latencyPanel(l latencyResult) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = l.Figure
	p.X.Label.Text = "ms (log)"
	p.Y.Label.Text = "fraction of samples"
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = logTicks{}
	p.Y.Min, p.Y.Max = 0, 1
	p.Add(plotter.NewGrid())
	for _, s := range []struct {
		name string
		xs   []float64
		c    color.Color
	}{{"connector", l.ConnectorMs, connectorColor}, {"baseline", l.BaselineMs, baselineColor}} {
		line, err := plotter.NewLine(ecdf(s.xs))
		if err != nil {
			return nil, err
		}
		line.Color = s.c
		line.Width = vg.Points(1.5)
		p.Add(line)
		p.Legend.Add(s.name, line)
	}
	p.Legend.Top, p.Legend.Left = false, false
	p.Legend.XOffs, p.Legend.YOffs = -vg.Millimeter*2, vg.Millimeter*4
	return p, nil
}

// ecdf returns the steps of the empirical distribution of xs (all > 0).
func ecdf(xs []float64) plotter.XYs {
	s := slices.Clone(xs)
	slices.Sort(s)
	out := make(plotter.XYs, 0, 2*len(s))
	for i, x := range s {
		x = max(x, 0.01)
		out = append(out, plotter.XY{X: x, Y: float64(i) / float64(len(s))}, plotter.XY{X: x, Y: float64(i+1) / float64(len(s))})
	}
	return out
}

// logTicks labels 1, 2 and 5 times each power of ten: plot.LogTicks labels
// only the powers, and most samples here lie between two of them.
type logTicks struct{}

func (logTicks) Ticks(lo, hi float64) []plot.Tick {
	var out []plot.Tick
	for p := math.Pow(10, math.Floor(math.Log10(lo))); p <= hi; p *= 10 {
		for m := 1; m <= 9; m++ {
			v := p * float64(m)
			if v < lo || v > hi {
				continue
			}
			t := plot.Tick{Value: v}
			if m == 1 || m == 2 || m == 5 {
				t.Label = strconv.FormatFloat(v, 'g', -1, 64)
			}
			out = append(out, t)
		}
	}
	return out
}

func saveImage(img *vgimg.Canvas, path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

// growthSeries is one line of a growth panel.
type growthSeries struct {
	Name  string
	XY    plotter.XYs
	Color color.Color
}

// growthPanel is one panel of plotGrowth: Y against X, points joined.
type growthPanel struct {
	Title, X, Y string
	Series      []growthSeries
}

// plotGrowth draws the panels side by side, two to a row, each series as a
// line with its points marked.
func plotGrowth(panels []growthPanel, path string) error {
	plots := make([]*plot.Plot, len(panels))
	for i, gp := range panels {
		p := plot.New()
		p.Title.Text = gp.Title
		p.X.Label.Text, p.Y.Label.Text = gp.X, gp.Y
		p.Y.Min = 0
		p.Add(plotter.NewGrid())
		for _, s := range gp.Series {
			if len(s.XY) == 0 {
				continue
			}
			line, points, err := plotter.NewLinePoints(s.XY)
			if err != nil {
				return err
			}
			line.Color, points.Color = s.Color, s.Color
			line.Width = vg.Points(1.5)
			p.Add(line, points)
			p.Legend.Add(s.Name, line, points)
		}
		p.Legend.Top, p.Legend.Left = true, true
		plots[i] = p
	}
	return drawTiles(plots, 2, path)
}
