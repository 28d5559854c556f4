using System.Collections.Generic;

namespace MambaGen.ChatTemplates;

internal abstract record Node(int Pos);

// Statements.
internal sealed record TextStmt(int Pos, string Text) : Node(Pos);
internal sealed record EmitStmt(int Pos, Node Expr) : Node(Pos);
internal sealed record IfStmt(int Pos, List<(Node Cond, List<Node> Body)> Branches, List<Node>? Else) : Node(Pos);
internal sealed record ForStmt(int Pos, List<string> Targets, Node Iter, Node? Filter, List<Node> Body, List<Node>? Else) : Node(Pos);
internal sealed record SetStmt(int Pos, List<string> Targets, string? Attr, Node Value) : Node(Pos);
internal sealed record SetBlockStmt(int Pos, string Target, List<Node> Body) : Node(Pos);
internal sealed record MacroStmt(int Pos, string Name, List<(string Name, Node? Default)> Params, List<Node> Body) : Node(Pos);
internal sealed record CallBlockStmt(int Pos, CallExpr Call, List<(string Name, Node? Default)> Params, List<Node> Body) : Node(Pos);
internal sealed record BreakStmt(int Pos) : Node(Pos);
internal sealed record ContinueStmt(int Pos) : Node(Pos);
internal sealed record GenerationStmt(int Pos, List<Node> Body) : Node(Pos);
internal sealed record FilterBlockStmt(int Pos, FilterExpr Filter, List<Node> Body) : Node(Pos);

// Expressions.
internal sealed record ConstExpr(int Pos, object? Value) : Node(Pos);
internal sealed record NameExpr(int Pos, string Name) : Node(Pos);
internal sealed record GetAttrExpr(int Pos, Node Target, string Attr) : Node(Pos);
internal sealed record GetItemExpr(int Pos, Node Target, Node Index) : Node(Pos);
internal sealed record SliceExpr(int Pos, Node Target, Node? Start, Node? Stop, Node? Step) : Node(Pos);
internal sealed record CallExpr(int Pos, Node Fn, List<Node> Args, List<(string Name, Node Value)> Kwargs) : Node(Pos);
internal sealed record FilterExpr(int Pos, Node? Target, string Name, List<Node> Args, List<(string Name, Node Value)> Kwargs) : Node(Pos);
internal sealed record TestExpr(int Pos, Node Target, string Name, List<Node> Args, bool Negated) : Node(Pos);
internal sealed record UnaryExpr(int Pos, string Op, Node Operand) : Node(Pos);
internal sealed record BinaryExpr(int Pos, string Op, Node Left, Node Right) : Node(Pos);
internal sealed record CompareExpr(int Pos, Node First, List<(string Op, Node Operand)> Rest) : Node(Pos);
internal sealed record CondExpr(int Pos, Node Test, Node Then, Node? Else) : Node(Pos);
internal sealed record ListExpr(int Pos, List<Node> Items) : Node(Pos);
internal sealed record DictExpr(int Pos, List<(Node Key, Node Value)> Items) : Node(Pos);
