from voltflow.cli.main import main

main(prog_name="voltflow")
