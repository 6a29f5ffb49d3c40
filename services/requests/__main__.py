from services.requests.main import main

main()
