"""The command line: argparse and printing over the lab service."""
