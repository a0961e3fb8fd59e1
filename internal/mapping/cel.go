package mapping

import (
	"fmt"
	"sync"
	"time"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/common/types/traits"
	"cel.dev/cel-go/ext"
	"cel.dev/cel-go/interpreter"
)

// celCostLimit bounds one evaluation so a careless comprehension over a
// large payload fails the record instead of stalling the sync.
const celCostLimit = 1_000_000

// envs holds the two CEL environments a mapping is compiled in:
//   - read transforms see value (the source value at the field's path) and
//     record (the whole source record);
//   - write expressions see value (the portal input value), input (all of
//     the portal input) and actor (account_id, contact_id and the account's
//     reference keys).
type envs struct {
	read, write *cel.Env
}

// sharedEnvs builds the environments once per process: they are immutable
// and safe for concurrent use, and building them costs more than
// compiling a whole mapping file.
var sharedEnvs = sync.OnceValues(buildEnvs)

func newEnvs() (*envs, error) { return sharedEnvs() }

func buildEnvs() (*envs, error) {
	common := []cel.EnvOption{
		ext.Strings(), ext.Math(), ext.Lists(ext.ListsMaxRangeSize(1000)), ext.Encoders(),
		cel.OptionalTypes(),
	}
	read, err := cel.NewEnv(append(common,
		cel.Variable("value", cel.DynType),
		cel.Variable("record", cel.MapType(cel.StringType, cel.DynType)),
	)...)
	if err != nil {
		return nil, fmt.Errorf("mapping: cel read env: %w", err)
	}
	write, err := cel.NewEnv(append(common,
		cel.Variable("value", cel.DynType),
		cel.Variable("input", cel.MapType(cel.StringType, cel.DynType)),
		cel.Variable("actor", cel.MapType(cel.StringType, cel.StringType)),
	)...)
	if err != nil {
		return nil, fmt.Errorf("mapping: cel write env: %w", err)
	}
	return &envs{read: read, write: write}, nil
}

// program is one compiled expression.
type program struct {
	src  string
	prg  cel.Program
	uses map[string]bool // variables the expression references
}

// celIssue is a compile problem at a 1-based line and 0-based column of
// the expression.
type celIssue struct {
	line, col int
	msg       string
}

// compileMu serialises compiles on the shared environments: cel-go's
// checker fills an environment's type catalog lazily, and two compiles at
// once race on it (seen with -race in v0.33.2). Compiling happens only
// when mappings load; evaluating compiled programs needs no lock.
var compileMu sync.Mutex

func compileCEL(env *cel.Env, src string) (*program, []celIssue) {
	compileMu.Lock()
	defer compileMu.Unlock()
	ast, iss := env.Compile(src)
	if iss != nil && iss.Err() != nil {
		var out []celIssue
		for _, e := range iss.Errors() {
			out = append(out, celIssue{line: e.Location.Line(), col: e.Location.Column(), msg: e.Message})
		}
		return nil, out
	}
	opts := []cel.ProgramOption{cel.EvalOptions(cel.OptOptimize)}
	// Without comprehensions an expression's work is linear in the record,
	// which the connector already capped; cost tracking would double the
	// price of the common one-liners. Loops get the runtime limit.
	if len(ast.NativeRep().SourceInfo().MacroCalls()) > 0 {
		opts = append(opts, cel.CostLimit(celCostLimit))
	}
	prg, err := env.Program(ast, opts...)
	if err != nil {
		return nil, []celIssue{{line: 1, msg: err.Error()}}
	}
	p := &program{src: src, prg: prg, uses: map[string]bool{}}
	for _, r := range ast.NativeRep().ReferenceMap() {
		if r.Name != "" {
			p.uses[r.Name] = true
		}
	}
	return p, nil
}

// activation resolves the variables without building a map per call.
type activation struct {
	value  any
	record any
	input  any
	actor  any
}

func (a *activation) ResolveName(name string) (any, bool) {
	switch name {
	case "value":
		return a.value, true
	case "record":
		if a.record == nil {
			return map[string]any{}, true
		}
		return a.record, true
	case "input":
		if a.input == nil {
			return map[string]any{}, true
		}
		return a.input, true
	case "actor":
		if a.actor == nil {
			return map[string]string{}, true
		}
		return a.actor, true
	}
	return nil, false
}

func (a *activation) Parent() interpreter.Activation { return nil }

func (p *program) eval(act *activation) (any, error) {
	out, _, err := p.prg.Eval(act)
	if err != nil {
		return nil, fmt.Errorf("cel %q: %w", p.src, err)
	}
	return celToGo(out)
}

// celToGo turns a CEL value into the Go natives the rest of the engine
// uses.
func celToGo(v ref.Val) (any, error) {
	switch t := v.(type) {
	case types.Null:
		return nil, nil
	case types.String:
		return string(t), nil
	case types.Int:
		return int64(t), nil
	case types.Uint:
		return int64(t), nil
	case types.Double:
		return float64(t), nil
	case types.Bool:
		return bool(t), nil
	case types.Bytes:
		return string(t), nil
	case *types.Err:
		return nil, t
	}
	if o, ok := v.(*types.Optional); ok {
		if !o.HasValue() {
			return nil, nil
		}
		return celToGo(o.GetValue())
	}
	switch x := v.Value().(type) {
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano), nil
	case time.Duration:
		return x.String(), nil
	}
	if l, ok := v.(traits.Lister); ok {
		out := []any{}
		for it := l.Iterator(); it.HasNext() == types.True; {
			e, err := celToGo(it.Next())
			if err != nil {
				return nil, err
			}
			out = append(out, e)
		}
		return out, nil
	}
	if m, ok := v.(traits.Mapper); ok {
		out := map[string]any{}
		for it := m.Iterator(); it.HasNext() == types.True; {
			k := it.Next()
			e, err := celToGo(m.Get(k))
			if err != nil {
				return nil, err
			}
			out[fmt.Sprint(k.Value())] = e
		}
		return out, nil
	}
	return nil, fmt.Errorf("cel: unsupported result type %s", v.Type().TypeName())
}

// typedEnvs are read environments in which value has a scalar type (and
// may be null), for checking a transform against the source field it
// reads: string, int, double, bool.
var typedEnvs = sync.OnceValues(func() (map[string]*cel.Env, error) {
	out := map[string]*cel.Env{}
	for name, t := range map[string]*cel.Type{"string": cel.StringType, "int": cel.IntType, "double": cel.DoubleType, "bool": cel.BoolType} {
		env, err := cel.NewEnv(
			ext.Strings(), ext.Math(), ext.Lists(ext.ListsMaxRangeSize(1000)), ext.Encoders(), cel.OptionalTypes(),
			cel.Variable("value", cel.NullableType(t)),
			cel.Variable("record", cel.MapType(cel.StringType, cel.DynType)),
		)
		if err != nil {
			return nil, fmt.Errorf("mapping: cel %s env: %w", name, err)
		}
		out[name] = env
	}
	return out, nil
})

// TransformFits type-checks a read transform with value of a scalar type
// (string, int, double or bool, or null): the type of the source field
// it reads. It returns the checker's messages; none when it fits, or when
// the type is none of those (a list or an object is not checked).
func TransformFits(src, valueType string) []string {
	envs, err := typedEnvs()
	if err != nil {
		return []string{err.Error()}
	}
	env, ok := envs[valueType]
	if !ok {
		return nil
	}
	compileMu.Lock()
	defer compileMu.Unlock()
	_, iss := env.Compile(src)
	if iss == nil || iss.Err() == nil {
		return nil
	}
	var out []string
	for _, e := range iss.Errors() {
		out = append(out, e.Message)
	}
	return out
}
