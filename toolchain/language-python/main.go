// Command pulumi-language-python is appstack's small stand-in for Pulumi's Python language host.
//
// Why it exists: the Go module proxy reachable here refuses the upstream host's module
// (github.com/pulumi/pulumi/sdk/python/cmd/pulumi-language-python/v3) at every version, so it
// cannot be built. This host implements the part of the LanguageRuntime protocol that running a
// Python program and a Python policy pack needs, using only the sdk/v3 module (which the proxy
// serves): Run starts `pulumi-language-python-exec` (shipped in the sdk module, copied beside this
// binary) with the project's virtualenv, and RunPlugin starts `python -m pulumi.policy` for policy
// packs. Code generation, `pulumi new` templating and dependency installation are not supported:
// appstack's virtualenv is created by its own scripts.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"

	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"github.com/pulumi/pulumi/sdk/v3/python/toolchain"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"
)

// version is set with -ldflags "-X main.version=..." to the Pulumi version it was built against.
var version = "0.0.0-dev"

// exitCodeUserActionable is the exec script's signal that it already showed the user an error.
const exitCodeUserActionable = 32

func main() {
	// The engine passes flags such as -tracing and -root before the positional engine address;
	// they are accepted and ignored.
	flag.String("tracing", "", "ignored: tracing endpoint")
	flag.String("root", "", "ignored: project root (the engine sends it in ProgramInfo)")
	flag.String("virtualenv", "", "ignored: sent in ProgramInfo options")
	flag.String("toolchain", "", "ignored: only pip virtualenvs are supported")
	flag.String("typechecker", "", "ignored")
	// -logtostderr and -v are glog's flags, registered by the sdk's logging package.
	flag.Bool("logflow", false, "ignored")
	flag.Parse()

	self, err := os.Executable()
	if err != nil {
		fatalf("cannot find own executable: %v", err)
	}
	host := &languageHost{
		engineAddress: flag.Arg(0),
		execScript:    filepath.Join(filepath.Dir(self), "pulumi-language-python-exec"),
	}
	if _, err := os.Stat(host.execScript); err != nil {
		fatalf("%s is missing: run toolchain/build.sh", host.execScript)
	}
	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterLanguageRuntimeServer(srv, host)
			return nil
		},
	})
	if err != nil {
		fatalf("could not start language host RPC server: %v", err)
	}
	// The engine reads the port from the first line of stdout.
	fmt.Printf("%d\n", handle.Port)
	if err := <-handle.Done; err != nil {
		fatalf("language host RPC server stopped: %v", err)
	}
}

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "pulumi-language-python: "+format+"\n", args...)
	os.Exit(1)
}

type languageHost struct {
	pulumirpc.UnimplementedLanguageRuntimeServer

	mu            sync.Mutex
	engineAddress string
	execScript    string
}

// Handshake records the engine address, which newer engines send here instead of as an argument.
func (h *languageHost) Handshake(
	_ context.Context, req *pulumirpc.LanguageHandshakeRequest,
) (*pulumirpc.LanguageHandshakeResponse, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.engineAddress = req.GetEngineAddress()
	return &pulumirpc.LanguageHandshakeResponse{}, nil
}

// GetRequiredPlugins reports none: providers are loaded on demand when resources register, and
// appstack installs every plugin it pins ahead of time (automatic acquisition stays disabled).
func (h *languageHost) GetRequiredPlugins(
	context.Context, *pulumirpc.GetRequiredPluginsRequest,
) (*pulumirpc.GetRequiredPluginsResponse, error) {
	return &pulumirpc.GetRequiredPluginsResponse{}, nil
}

// GetRequiredPackages reports none, for the same reason as GetRequiredPlugins.
func (h *languageHost) GetRequiredPackages(
	context.Context, *pulumirpc.GetRequiredPackagesRequest,
) (*pulumirpc.GetRequiredPackagesResponse, error) {
	return &pulumirpc.GetRequiredPackagesResponse{}, nil
}

// GetPluginInfo reports the Pulumi version this host was built with.
func (h *languageHost) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: version}, nil
}

// About reports the Python interpreter the project's toolchain resolves to.
func (h *languageHost) About(ctx context.Context, req *pulumirpc.AboutRequest) (*pulumirpc.AboutResponse, error) {
	tc, err := resolveToolchain(req.GetInfo())
	if err != nil {
		return nil, err
	}
	info, err := tc.About(ctx)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.AboutResponse{Executable: info.PythonExecutable, Version: info.PythonVersion.String()}, nil
}

// GetProgramDependencies lists the packages installed in the project's virtualenv.
func (h *languageHost) GetProgramDependencies(
	ctx context.Context, req *pulumirpc.GetProgramDependenciesRequest,
) (*pulumirpc.GetProgramDependenciesResponse, error) {
	tc, err := resolveToolchain(req.GetInfo())
	if err != nil {
		return nil, err
	}
	pkgs, err := tc.ListPackages(ctx, req.GetTransitiveDependencies())
	if err != nil {
		return nil, err
	}
	deps := make([]*pulumirpc.DependencyInfo, 0, len(pkgs))
	for _, p := range pkgs {
		deps = append(deps, &pulumirpc.DependencyInfo{Name: p.Name, Version: p.Version})
	}
	return &pulumirpc.GetProgramDependenciesResponse{Dependencies: deps}, nil
}

// InstallDependencies only checks that the virtualenv is usable: appstack's scripts create it.
func (h *languageHost) InstallDependencies(
	req *pulumirpc.InstallDependenciesRequest, _ grpc.ServerStreamingServer[pulumirpc.InstallDependenciesResponse],
) error {
	tc, err := resolveToolchain(req.GetInfo())
	if err != nil {
		return err
	}
	return tc.ValidateVenv(context.Background())
}

// Run executes the Python program through the exec script, the way the upstream host does.
func (h *languageHost) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	info := req.GetInfo()
	tc, err := resolveToolchain(info)
	if err != nil {
		return nil, err
	}
	h.mu.Lock()
	engine := h.engineAddress
	h.mu.Unlock()

	program := req.GetProgram()
	if info != nil && info.GetProgramDirectory() != "" {
		program = filepath.Join(info.GetProgramDirectory(), info.GetEntryPoint())
	}
	args := []string{
		"-u", h.execScript,
		"--monitor", req.GetMonitorAddress(),
		"--engine", engine,
		"--project", req.GetProject(),
		"--stack", req.GetStack(),
		"--pwd", req.GetPwd(),
		"--dry_run", strconv.FormatBool(req.GetDryRun()),
		"--parallel", strconv.Itoa(int(req.GetParallel())),
		"--organization", req.GetOrganization(),
	}
	if info != nil && info.GetRootDirectory() != "" {
		args = append(args, "--root_directory", info.GetRootDirectory())
	}
	args = append(args, program)
	args = append(args, req.GetArgs()...)

	cmd, err := tc.Command(ctx, args...)
	if err != nil {
		return nil, err
	}
	// The exec script expects JSON objects and arrays, never null.
	configMap := req.GetConfig()
	if configMap == nil {
		configMap = map[string]string{}
	}
	secretKeyList := req.GetConfigSecretKeys()
	if secretKeyList == nil {
		secretKeyList = []string{}
	}
	config, err := json.Marshal(configMap)
	if err != nil {
		return nil, err
	}
	secretKeys, err := json.Marshal(secretKeyList)
	if err != nil {
		return nil, err
	}
	if cmd.Env == nil {
		cmd.Env = os.Environ()
	}
	cmd.Env = append(cmd.Env, "PULUMI_CONFIG="+string(config), "PULUMI_CONFIG_SECRET_KEYS="+string(secretKeys))
	cmd.Dir = req.GetPwd()
	cmd.Stdout = os.Stdout
	cmd.Stderr = os.Stderr

	if err := cmd.Run(); err != nil {
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			if exitErr.ExitCode() == exitCodeUserActionable {
				return &pulumirpc.RunResponse{Bail: true}, nil
			}
			return &pulumirpc.RunResponse{Error: fmt.Sprintf("Program exited with non-zero exit code: %d", exitErr.ExitCode())}, nil
		}
		return &pulumirpc.RunResponse{Error: fmt.Sprintf("problem executing program: %v", err)}, nil
	}
	return &pulumirpc.RunResponse{}, nil
}

// RunPlugin starts a Python plugin; for policy packs (kind "analyzer") that is `python -m pulumi.policy`.
func (h *languageHost) RunPlugin(
	req *pulumirpc.RunPluginRequest, server grpc.ServerStreamingServer[pulumirpc.RunPluginResponse],
) error {
	info := req.GetInfo()
	tc, err := resolveToolchain(info)
	if err != nil {
		return err
	}
	dir := req.GetProgram()
	if info != nil && info.GetProgramDirectory() != "" {
		dir = info.GetProgramDirectory()
	}
	var args []string
	switch req.GetKind() {
	case "analyzer":
		args = append([]string{"-u", "-m", "pulumi.policy"}, req.GetArgs()...)
		args = append(args, dir)
	default:
		args = append([]string{"-u", dir}, req.GetArgs()...)
	}
	ctx := server.Context()
	cmd, err := tc.Command(ctx, args...)
	if err != nil {
		return err
	}
	env := req.GetEnv()
	if cmd.Env != nil {
		// Keep the toolchain's virtualenv activation on top of the requested environment.
		env = append(append([]string{}, env...), cmd.Env...)
	}
	cmd.Env = env
	cmd.Dir = req.GetPwd()

	var sendMu sync.Mutex
	send := func(resp *pulumirpc.RunPluginResponse) error {
		sendMu.Lock()
		defer sendMu.Unlock()
		return server.Send(resp)
	}
	cmd.Stdout = streamWriter(func(b []byte) error {
		return send(&pulumirpc.RunPluginResponse{Output: &pulumirpc.RunPluginResponse_Stdout{Stdout: b}})
	})
	cmd.Stderr = streamWriter(func(b []byte) error {
		return send(&pulumirpc.RunPluginResponse{Output: &pulumirpc.RunPluginResponse_Stderr{Stderr: b}})
	})
	code := int32(0)
	if err := cmd.Run(); err != nil {
		var exitErr *exec.ExitError
		if !errors.As(err, &exitErr) {
			return status.Errorf(codes.Internal, "could not run plugin %s: %v", req.GetName(), err)
		}
		code = int32(exitErr.ExitCode())
	}
	return send(&pulumirpc.RunPluginResponse{Output: &pulumirpc.RunPluginResponse_Exitcode{Exitcode: code}})
}

// streamWriter adapts a send function to io.Writer, copying each chunk because gRPC keeps it.
type streamWriter func([]byte) error

func (w streamWriter) Write(p []byte) (int, error) {
	if err := w(append([]byte(nil), p...)); err != nil {
		return 0, err
	}
	return len(p), nil
}

var _ io.Writer = streamWriter(nil)

// resolveToolchain picks the pip toolchain with the `virtualenv` runtime option, if any, resolved
// against the project root the way the upstream host does.
func resolveToolchain(info *pulumirpc.ProgramInfo) (toolchain.Toolchain, error) {
	opts := toolchain.PythonOptions{Toolchain: toolchain.Pip}
	if info != nil {
		opts.Root = info.GetRootDirectory()
		opts.ProgramDir = info.GetProgramDirectory()
		if o := info.GetOptions(); o != nil {
			if v, ok := o.AsMap()["virtualenv"].(string); ok && v != "" {
				if !filepath.IsAbs(v) {
					v = filepath.Join(opts.Root, v)
				}
				opts.Virtualenv = v
			}
			if t, ok := o.AsMap()["toolchain"].(string); ok && t != "" && t != "pip" {
				return nil, status.Errorf(codes.Unimplemented,
					"appstack's pulumi-language-python supports only the pip toolchain, not %q", t)
			}
		}
	}
	return toolchain.ResolveToolchain(opts)
}
