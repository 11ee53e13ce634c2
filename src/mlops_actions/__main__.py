from mlops_actions.cli import main

main()
