package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "Error:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	o := &Options{}
	fs := flag.NewFlagSet("image", flag.ContinueOnError)
	o.AddFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := o.Complete(); err != nil {
		return err
	}
	if err := o.Validate(); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if o.Push != "" {
		return push(ctx, o.Out, o.Push)
	}
	return build(ctx, o)
}

// Options are the builder's flags.
type Options struct {
	Source         string // the repository's root
	Out            string // the OCI layout directory
	Platforms      string // comma-separated os/arch
	Repository     string
	Version        string // default: the chart's appVersion
	Licenses       string
	DockerArchives bool
	Push           string // push the layout at Out to this reference instead of building
}

// AddFlags registers the flags.
func (o *Options) AddFlags(fs *flag.FlagSet) {
	fs.StringVar(&o.Source, "source", ".", "root of the mcp-connector repository")
	fs.StringVar(&o.Out, "out", "bin/image", "OCI layout directory to write (replaced), or to read with --push")
	fs.StringVar(&o.Platforms, "platforms", "linux/amd64,linux/arm64", "comma-separated platforms of the image index")
	fs.StringVar(&o.Repository, "repository", "ghcr.io/mcp-connector/mcp-connector", "repository of the image's name")
	fs.StringVar(&o.Version, "version", "", "version and tag (default: appVersion of charts/mcp-connector/Chart.yaml)")
	fs.StringVar(&o.Licenses, "licenses", "NOASSERTION", "SPDX expression of the org.opencontainers.image.licenses label")
	fs.BoolVar(&o.DockerArchives, "docker-archives", false, "also write <out>-<os>-<arch>.tar, a docker archive per platform (docker load, ctr images import)")
	fs.StringVar(&o.Push, "push", "", "push the image index of the OCI layout at --out to this reference (e.g. registry.example.org/mcp-connector:0.1.0) instead of building")
}

// Complete fills the defaults that depend on the repository.
func (o *Options) Complete() error {
	if o.Version != "" || o.Push != "" {
		return nil
	}
	v, err := chartAppVersion(o.Source)
	if err != nil {
		return err
	}
	o.Version = v
	return nil
}

// Validate checks the flags.
func (o *Options) Validate() error {
	if o.Out == "" {
		return errors.New("--out must not be empty")
	}
	if o.Push != "" {
		return nil
	}
	if _, err := o.platforms(); err != nil {
		return err
	}
	if o.Repository == "" || strings.Contains(o.Repository, ":") && !strings.Contains(o.Repository, "/") {
		return fmt.Errorf("--repository %q: want a repository without tag, e.g. ghcr.io/mcp-connector/mcp-connector", o.Repository)
	}
	return nil
}

type platform struct{ OS, Arch string }

func (p platform) String() string { return p.OS + "/" + p.Arch }

func (o *Options) platforms() ([]platform, error) {
	var out []platform
	for _, s := range strings.Split(o.Platforms, ",") {
		osName, arch, ok := strings.Cut(strings.TrimSpace(s), "/")
		if !ok || osName != "linux" || (arch != "amd64" && arch != "arm64") {
			return nil, fmt.Errorf("--platforms: %q is not one of linux/amd64, linux/arm64", s)
		}
		out = append(out, platform{OS: osName, Arch: arch})
	}
	return out, nil
}
